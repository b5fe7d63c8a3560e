"""ADD: the arithmetic kernel (intq_add) against the 256x256 table gather (intq_lut2) on a model's ADD nodes.

    python benchmarks/add_kernels.py [--model mobilenet_v2_1.0_224_quant] [--threads 1] [--reps 300]

Run on demand, never in tests. Both C kernels are called alternately in one process on the same random
operands of each ADD node's shape (pointers computed once, so both pay the same ctypes cost), medians in us,
and their outputs are checked to be equal. Imports: numpy, intq.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import intq
from intq.runtime.fast import elementwise as fe
from intq.runtime.fast._lib import ISA_LEVEL, LIB, ptr

MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tflite-quant-models"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2_1.0_224_quant")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=300)
    a = ap.parse_args(argv)
    g = intq.load_tflite(MODELS / f"{a.model}.tflite")
    rng = np.random.default_rng(0)
    total = {"table": 0.0, "arith": 0.0}
    for node in g.nodes:
        if node.op != "ADD":
            continue
        t = g.tensor(node.inputs[0])
        if t.shape != g.tensor(node.inputs[1]).shape:
            continue
        x, y = (rng.integers(0, 256, t.shape).astype(np.uint8).view(t.dtype) for _ in range(2))
        p = fe.KERNELS["ADD"].prepare(g, node)
        outs = {k: np.empty(t.shape, t.dtype) for k in total}
        px, py, n = ptr(x), ptr(y), x.size
        calls = {"table": (LIB.intq_lut2, (px, py, ptr(fe.pair_table(p)), ptr(outs["table"]), n, a.threads)),
                 "arith": (LIB.intq_add, (px, py, ptr(p["params"]), ptr(outs["arith"]), n, a.threads, ISA_LEVEL))}
        times = {k: [] for k in total}
        for _ in range(a.reps):
            for k, (f, args) in calls.items():
                t0 = time.perf_counter()
                f(*args)
                times[k].append(time.perf_counter() - t0)
        if not np.array_equal(outs["table"], outs["arith"]):
            raise SystemExit(f"{node.outputs[0]}: the two kernels differ")
        med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
        for k in total:
            total[k] += med[k]
        print(f"{str(t.shape):18s} table {med['table']:7.1f} us  arith {med['arith']:7.1f} us  "
              f"arith/table {med['arith'] / med['table']:.2f}")
    if total["table"]:
        print(f"{a.model}, {a.threads} thread(s): table {total['table']:.0f} us, arith {total['arith']:.0f} us, "
              f"arith/table {total['arith'] / total['table']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
