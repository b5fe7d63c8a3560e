"""Where a second thread pays off: each plan record at 1 and 2 threads, side by side (run on demand, never in tests).

    python benchmarks/thread_scaling.py [--model mobilenet_v2_1.0_224_quant] [--reps 60] [--top 15] [--batch 1]

Builds the batch-1 plan at 1 and at 2 threads and calls each record alternately from the two plans, ``--reps``
times per round, 3 rounds, so both are timed in the same minutes of a noisy machine. Prints per op kind and for
the records that lose most: median us at 1 and 2 threads, the speed-up, and the time lost against a perfect
2x (t2 - t1/2). ``--batch N`` times the plan the interpreter builds for N images after its first run at that
batch size. Models as in bench_runtime.py (``random`` is the random MobileNet v1 1.0/224). Imports: numpy, intq.

Each record is timed on its own, called again and again: what a whole run gives it (its input just written by
the layer before, on that layer's threads; a worker that had work a moment ago) is not reproduced. Check a
change it suggests on whole runs (compare_builds.py, bench_runtime.py): running v1 0.25/128's small depthwise
layers on one thread, which this script showed 1.1-1.45x faster, made whole 2-thread runs slower
(docs/performance.md, 27 Nov ~14:35 section).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from intq.runtime.fast._lib import LIB, PLAN_WORDS

sys.path.insert(0, str(Path(__file__).parent))
from ab_builds import KINDS, planned  # noqa: E402


def plan_for(it, x: np.ndarray, batch: int):
    """``it``'s plan for ``batch`` images of ``x``'s shape (built by the run before)."""
    if batch == 1:
        return it._plan
    xb = np.repeat(x, batch, axis=0)
    it.run(xb)
    plan = it._other_plans.get((xb.shape,))
    if plan is None:
        raise SystemExit(f"no plan for batch {batch}")
    return plan


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2_1.0_224_quant")
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args(argv)
    its = {t: planned(a.model, t) for t in (1, 2)}        # kept: they hold the plans, which hold buffers and constants
    plans = {t: plan_for(it, x, a.batch) for t, (it, x) in its.items()}
    n = len(plans[1].records)
    times = defaultdict(list)
    run, pc = LIB.intq_run_plan, time.perf_counter
    for _ in range(3):
        for i in range(n):
            at = {t: p.records.ctypes.data + i * PLAN_WORDS * 8 for t, p in plans.items()}
            for _ in range(a.reps):
                t0 = pc()
                run(at[1], 1)
                t1 = pc()
                run(at[2], 1)
                t2 = pc()
                times[(i, 1)].append(t1 - t0)
                times[(i, 2)].append(t2 - t1)
    med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
    kind = [KINDS.get(int(plans[1].records[i][0]), str(int(plans[1].records[i][0]))) for i in range(n)]
    per_kind = defaultdict(lambda: [0.0, 0.0, 0])
    for i in range(n):
        s = per_kind[kind[i]]
        s[0], s[1], s[2] = s[0] + med[(i, 1)], s[1] + med[(i, 2)], s[2] + 1
    t1, t2 = sum(med[(i, 1)] for i in range(n)), sum(med[(i, 2)] for i in range(n))
    print(f"{a.model}: sum of records {t1:.0f} us at 1 thread, {t2:.0f} us at 2, {t1 / t2:.2f}x; "
          f"lost against 2x: {t2 - t1 / 2:.0f} us")
    for k, (s1, s2, c) in sorted(per_kind.items(), key=lambda kv: -(kv[1][1] - kv[1][0] / 2)):
        print(f"  {k:11s} {c:3d} records {s1:8.0f} us -> {s2:8.0f} us  {s1 / s2:.2f}x  lost {s2 - s1 / 2:7.0f} us")
    print("records losing most (threads in the 2-thread plan's word 10 decide the split):")
    for i in sorted(range(n), key=lambda i: -(med[(i, 2)] - med[(i, 1)] / 2))[:a.top]:
        m1, m2 = med[(i, 1)], med[(i, 2)]
        nt = int(plans[2].records[i][10]) if kind[i] in ("conv/fc", "depthwise") else 0
        print(f"  record {i:3d} {kind[i]:11s} {m1:8.1f} -> {m2:8.1f} us  {m1 / m2:.2f}x  lost {m2 - m1 / 2:6.1f} us"
              + (f"  nt {nt}" if nt else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
