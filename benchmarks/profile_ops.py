"""Per-node time profile of intq's fast interpreter (run on demand, never in tests).

    python benchmarks/profile_ops.py [--reps 30] [--model mobilenet_v2_1.0_224_quant] [--top 25]

Runs each prepared step of ``intq.Interpreter`` separately (same inputs as a full run), medians over reps,
and prints time per op type and the slowest nodes with their shapes. Imports: numpy, intq.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import intq

MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tflite-quant-models"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--model", default="mobilenet_v2_1.0_224_quant")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    if a.model == "mobilenet_v1_1.0_224_random":
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_runtime import mobilenet_v1_graph
        graph = mobilenet_v1_graph()
    else:
        graph = intq.load_tflite(MODELS / f"{a.model}.tflite")
    it = intq.Interpreter(graph, num_threads=a.threads)
    shape = graph.tensor(graph.inputs[0]).shape
    x = np.random.default_rng(0).integers(0, 256, (1, *shape[1:])).astype(np.uint8)
    env = it.run(x, intermediates=True)
    steps = it._steps
    times = [[] for _ in steps]
    whole = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        it.run(x)
        whole.append(time.perf_counter() - t0)
        for i, (node, run, params) in enumerate(steps):
            args = [None if n is None else env[n] for n in node.inputs]
            t = time.perf_counter()
            run(params, args, it.ctx)
            times[i].append(time.perf_counter() - t)
    med = [statistics.median(t) for t in times]
    plan = it._plan
    if plan is not None:                     # the planned C calls one by one (ctypes overhead ~1 us each)
        from intq.runtime.fast._lib import LIB, PLAN_WORDS
        recs, base = plan.records, plan.records.ctypes.data
        ptimes = [[] for _ in recs]
        for _ in range(a.reps):
            for i in range(len(recs)):
                t = time.perf_counter()
                LIB.intq_run_plan(base + i * PLAN_WORDS * 8, 1)
                ptimes[i].append(time.perf_counter() - t)
        pmed = [statistics.median(t) for t in ptimes]
        kinds = {1: "conv/fc", 2: "depthwise", 3: "add/mul", 4: "softmax", 5: "global pool"}
        print(f"plan: {len(recs)} C calls, sum {sum(pmed) * 1e3:.3f} ms; slowest:")
        for i in sorted(range(len(recs)), key=lambda i: -pmed[i])[: a.top]:
            print(f"  record {i:3d} {kinds.get(int(recs[i][0]), '?'):12s} {pmed[i] * 1e6:8.1f} us")
    by_op = defaultdict(lambda: [0.0, 0])
    for (node, _, _), m in zip(steps, med):
        by_op[node.op][0] += m
        by_op[node.op][1] += 1
    print(f"{a.model}: whole run median {statistics.median(whole) * 1e3:.3f} ms, sum of nodes {sum(med) * 1e3:.3f} ms, "
          f"{len(steps)} nodes")
    for op, (t, n) in sorted(by_op.items(), key=lambda kv: -kv[1][0]):
        print(f"  {op:22s} {n:3d} nodes {t * 1e3:8.3f} ms")
    order = sorted(range(len(steps)), key=lambda i: -med[i])[: a.top]
    for i in order:
        node = steps[i][0]
        ins = [graph.tensor(n).shape for n in node.inputs[:2] if n is not None]
        print(f"  #{i:3d} {node.op:20s} {med[i] * 1e6:8.1f} us in {ins} out {graph.tensor(node.outputs[0]).shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
