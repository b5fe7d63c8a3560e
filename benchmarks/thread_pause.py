"""1 vs 2 threads when every run follows an idle pause, intq and LiteRT; and Interpreter.run's Python cost
(run on demand, never in tests).

    python benchmarks/thread_pause.py [--model mobilenet_v1_0.25_128_quant] [--pause 0.002] [--reps 200]
                                      [--skip-litert]

intq: a 1-thread and a 2-thread Interpreter of the same model in one process, alternating; before each run
``--pause`` seconds of sleep (the workers go to sleep after 0.2 ms idle), then the plan's first record and
the rest timed separately. LiteRT: the same model at 1 and 2 threads with the same pauses. Then
``Interpreter.run(x)`` against the bare ``intq_run_plan`` call, in interleaved blocks of 20 calls, the fastest
block of each (their difference: input checks, input and output copies, the ctypes call; medians of single
calls swing by tens of us on a noisy VM), and the input checks alone (timeit). ``PYTHONPATH=OTHER``
runs it on another intq tree. Medians in ms. Models: the shared
.tflite files (bench_runtime.MODELS). Imports: numpy, intq, ai_edge_litert (optional).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from pathlib import Path

import numpy as np

import intq
from intq.runtime.fast._lib import LIB, PLAN_WORDS

sys.path.insert(0, str(Path(__file__).parent))
from bench_runtime import MODELS, litert_runner  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v1_0.25_128_quant")
    ap.add_argument("--pause", type=float, default=0.002)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--skip-litert", action="store_true")
    a = ap.parse_args(argv)
    path = MODELS / f"{a.model}.tflite"
    g = intq.load_tflite(path)
    x = np.random.default_rng(0).integers(0, 256, (1, *g.tensor(g.inputs[0]).shape[1:])).astype(np.uint8)
    its = {t: intq.Interpreter(g, num_threads=t) for t in (1, 2)}
    for it in its.values():
        it.run(x)
    pc, res = time.perf_counter, {}
    for _ in range(a.reps):
        for t, it in its.items():
            recs = it._plan.records
            at, n = recs.ctypes.data, len(recs)
            time.sleep(a.pause)
            t0 = pc()
            LIB.intq_run_plan(at, 1)
            t1 = pc()
            LIB.intq_run_plan(at + PLAN_WORDS * 8, n - 1)
            res.setdefault(t, []).append((t1 - t0, pc() - t1))
    print(f"intq {a.model}, {a.pause * 1e3:g} ms pause before each run, median ms:")
    for t in (1, 2):
        first, rest = (statistics.median(v[i] for v in res[t]) * 1e3 for i in (0, 1))
        print(f"  {t} thread(s): first record {first:.3f}, the rest {rest:.3f}, total {first + rest:.3f}")
    if not a.skip_litert:
        runs = {t: litert_runner(path.read_bytes(), x, t) for t in (1, 2)}
        lt = {t: [] for t in runs}
        for _ in range(a.reps):
            for t, run in runs.items():
                time.sleep(a.pause)
                t0 = pc()
                run()
                lt[t].append(pc() - t0)
        print("LiteRT (XNNPACK), same pauses, median ms: "
              + ", ".join(f"{t} thread(s) {statistics.median(v) * 1e3:.3f}" for t, v in lt.items()))
    it = its[1]
    recs = it._plan.records
    at, n = recs.ctypes.data, len(recs)
    calls = {"run": lambda: it.run(x), "bare": lambda: LIB.intq_run_plan(at, n)}
    best = {k: float("inf") for k in calls}
    for _ in range(max(1, a.reps // 5)):          # interleaved blocks of 20 calls; the fastest block of each
        for k, f in calls.items():
            t0 = pc()
            for _ in range(20):
                f()
            best[k] = min(best[k], (pc() - t0) / 20 * 1e6)
    print(f"Interpreter.run {best['run']:.1f} us, intq_run_plan alone {best['bare']:.1f} us (fastest blocks of 20): "
          f"a planned run's cost around the C call (input checks, copies, ctypes) {best['run'] - best['bare']:.1f} us")
    check = min(timeit.repeat(lambda: it._check_inputs((x,)), number=20000, repeat=5)) / 20000 * 1e6
    print(f"of which the input checks (timeit, best of 5): {check:.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
