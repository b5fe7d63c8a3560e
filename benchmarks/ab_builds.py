"""Same-process A/B of two intq C libraries on the same plan records (run on demand, never in tests).

    python benchmarks/ab_builds.py OLD_SO [--model mobilenet_v1_0.25_128_quant] [--threads 1]
                                          [--records all|0,1,2|add,depthwise] [--reps 100]
    python benchmarks/ab_builds.py OLD_SO --op "ADD 56x56x24" [--threads 1] [--reps 100]
    python benchmarks/ab_builds.py OLD_SO --whole [--model ...] [--reps 30]

OLD_SO is another build's ``intq/runtime/fast/_intq_fast*.so`` (e.g. ``git archive <commit> | tar -x -C /tmp/old
&& (cd /tmp/old && python setup.py build_ext --inplace)``); NEW is this checkout's. Both are loaded with ctypes
into one process and run the plan records this checkout's Interpreter built, OLD on a copy whose conv and
depthwise records point at a workspace of the size OLD asks for (its own ``*_work_bytes``; a library older
than the workspace ignores the word and allocates its scratch itself), so the two are timed on the same
buffers in the same minutes of a noisy machine:

* per record (default): each record called alternately on OLD and NEW, ``--reps`` times per round, 3 rounds;
  medians per record in us, their ratio, and the sums. ``--records`` takes indices or record kinds (the names
  of KINDS below, e.g. ``add``);
* ``--op NAME``: the same on the one-node plan of each case of benchmarks/bench_ops.py whose name starts with
  NAME (uint8 operands of the shapes listed there), instead of a model;
* ``--whole``: the whole plan at 1 and 2 threads, each turn a 2 ms pause, one untimed call and 3 timed
  ones (the pattern of bench_runtime.py), OLD and NEW alternating; medians in ms and the 2-thread speed-ups.

Each library has its own thread pool, so at 2 threads one library's polling worker may still run during the
other's call: compare ratios, not absolute times. Models as in bench_runtime.py (``random`` is the random
MobileNet v1 1.0/224, ``int8_random`` its int8 twin). Imports: numpy, intq.
"""
from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import intq
from intq.runtime.fast._lib import LIB, PLAN_WORDS

sys.path.insert(0, str(Path(__file__).parent))
from bench_runtime import MODELS, mobilenet_v1_graph, random_input  # noqa: E402

KINDS = {1: "conv/fc", 2: "depthwise", 3: "pair table", 4: "softmax", 5: "global pool", 6: "concat", 7: "resize",
         8: "transpose", 9: "pad", 10: "quantize", 11: "byte table", 12: "max pool", 13: "mean", 14: "add",
         15: "split", 16: "arg max", 17: "avg pool", 19: "mul"}              # csrc/intq_plan.c's op codes


def planned(model: str, threads: int):
    """(Interpreter, input) with the plan built for batch 1."""
    schemes = {"random": "uint8", "int8_random": "int8"}
    g = (mobilenet_v1_graph(scheme=schemes[model]) if model in schemes
         else intq.load_tflite(MODELS / f"{model}.tflite"))
    x = random_input(g)
    it = intq.Interpreter(g, num_threads=threads)
    it.run(x)
    if it._plan is None:
        raise SystemExit(f"{model}: no plan (an op without a compiled kernel)")
    return it, x


WORK_WORD = 12           # the workspace pointer of a conv or depthwise record (after geom, x, 6 constants, out,
                         # threads, level)


def records_for(lib, plan):
    """(records, workspace): a copy of ``plan``'s records whose conv and depthwise records use a workspace of
    the size ``lib`` asks for (0 bytes asked, or no such entry point: the records are returned as they are)."""
    recs = plan.records.copy()
    sizes = {1: "intq_conv_work_bytes", 2: "intq_depthwise_work_bytes"}
    need, rows = 0, []
    for i, r in enumerate(recs):
        fn = getattr(lib, sizes.get(int(r[0]), ""), None) if int(r[0]) in sizes else None
        if fn is None:
            continue
        fn.restype, fn.argtypes = ctypes.c_long, [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        need = max(need, int(fn(int(r[1]), int(r[10]), int(r[11]))))
        rows.append(i)
    if not need:
        return recs, None
    work = np.zeros(need + 64, np.uint8)
    at = -(-work.ctypes.data // 64) * 64
    for i in rows:
        recs[i][WORK_WORD] = at
    return recs, work


def check_runs(f, recs, name: str) -> None:
    """Run every record once through ``f``; exit naming the first record the library rejects (e.g. an op kind
    it predates), since its later timings would measure an early return."""
    for i in range(len(recs)):
        if f(recs.ctypes.data + i * PLAN_WORDS * 8, 1):
            raise SystemExit(f"{name} library rejects record {i} (op kind {int(recs[i][0])}): it cannot run this plan")


def chosen(recs, which: str) -> list[int]:
    """Record indices from ``all``, indices and KINDS names, comma-separated; exits on one that names none."""
    if which == "all":
        return list(range(len(recs)))
    ids = []
    for w in which.split(","):
        if w.strip().isdigit():
            if int(w) >= len(recs):
                raise SystemExit(f"--records: the plan has records 0..{len(recs) - 1}, not {w}")
            ids.append(int(w))
            continue
        hit = [i for i, r in enumerate(recs) if KINDS.get(int(r[0])) == w.strip()]
        if not hit:
            raise SystemExit(f"--records: no record of kind {w!r} (kinds: {', '.join(sorted(set(KINDS.values())))})")
        ids += hit
    return sorted(set(ids))


def op_planned(name: str, threads: int):
    """[(case name, Interpreter)] of the bench_ops.py cases whose name starts with ``name``, planned."""
    from bench_ops import cases
    found = []
    rng = np.random.default_rng(0)
    for case, g, shapes in cases("uint8"):
        if case.startswith(name):
            it = intq.Interpreter(g, num_threads=threads)
            it.run(*(rng.integers(0, 256, s).astype(np.uint8) for s in shapes))
            if it._plan is None:
                raise SystemExit(f"{case}: no plan")
            found.append((case, it))
    if not found:
        raise SystemExit(f"--op: no bench_ops.py case starts with {name!r}")
    return found


def per_record(old, new, model: str, threads: int, which: str, reps: int, old_lib=None, it=None) -> None:
    if it is None:
        it, _ = planned(model, threads)
    recs = it._plan.records
    old_recs, _work = records_for(old_lib, it._plan) if old_lib is not None else (recs, None)
    check_runs(old, old_recs, "OLD")
    check_runs(new, recs, "NEW")
    ids = chosen(recs, which)
    times = {(i, k): [] for i in ids for k in ("old", "new")}
    pc = time.perf_counter
    for _ in range(3):
        for i in ids:
            at = recs.ctypes.data + i * PLAN_WORDS * 8
            at_old = old_recs.ctypes.data + i * PLAN_WORDS * 8
            for _ in range(reps):
                t0 = pc()
                old(at_old, 1)
                t1 = pc()
                new(at, 1)
                t2 = pc()
                times[(i, "old")].append(t1 - t0)
                times[(i, "new")].append(t2 - t1)
    so = sn = 0.0
    print(f"{model}, {threads} thread(s), median us per call:")
    for i in ids:
        o, n = (statistics.median(times[(i, k)]) * 1e6 for k in ("old", "new"))
        so, sn = so + o, sn + n
        print(f"  record {i:3d} {KINDS.get(int(recs[i][0]), '?'):11s} old {o:8.1f} new {n:8.1f} new/old {n / o:.2f}")
    print(f"  sum old {so:.1f} new {sn:.1f} new/old {sn / so:.3f}")


def whole(old, new, model: str, reps: int, old_lib=None) -> None:
    its = {t: planned(model, t)[0] for t in (1, 2)}
    olds = {t: records_for(old_lib, it._plan) if old_lib is not None else (it._plan.records, None)
            for t, it in its.items()}
    for t, it in its.items():
        check_runs(old, olds[t][0], "OLD")
        check_runs(new, it._plan.records, "NEW")
    res = {}
    for _ in range(reps):
        for t, it in its.items():
            for name, f in (("old", old), ("new", new)):
                recs = olds[t][0] if name == "old" else it._plan.records
                at, n = recs.ctypes.data, len(recs)
                time.sleep(0.002)
                f(at, n)
                t0 = time.perf_counter()
                f(at, n)
                f(at, n)
                f(at, n)
                res.setdefault((t, name), []).append((time.perf_counter() - t0) / 3)
    med = {k: statistics.median(v) * 1e3 for k, v in res.items()}
    for t in (1, 2):
        print(f"{model} {t} thread(s): old {med[(t, 'old')]:.3f} ms new {med[(t, 'new')]:.3f} ms "
              f"new/old {med[(t, 'new')] / med[(t, 'old')]:.3f}")
    print(f"2-thread speed-up: old {med[(1, 'old')] / med[(2, 'old')]:.2f}x "
          f"new {med[(1, 'new')] / med[(2, 'new')]:.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old_so")
    ap.add_argument("--model", default="mobilenet_v1_0.25_128_quant")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--records", default="all")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--whole", action="store_true")
    ap.add_argument("--op", default="", help="a bench_ops.py case name prefix: its one-node plan, not a model")
    a = ap.parse_args(argv)
    old_lib = ctypes.CDLL(str(Path(a.old_so).resolve()))
    old_lib.intq_run_plan.argtypes = LIB.intq_run_plan.argtypes
    old_lib.intq_run_plan.restype = LIB.intq_run_plan.restype
    if a.op:
        for case, it in op_planned(a.op, a.threads):
            per_record(old_lib.intq_run_plan, LIB.intq_run_plan, case, a.threads, a.records, a.reps, old_lib, it)
    elif a.whole:
        whole(old_lib.intq_run_plan, LIB.intq_run_plan, a.model, a.reps, old_lib)
    else:
        per_record(old_lib.intq_run_plan, LIB.intq_run_plan, a.model, a.threads, a.records, a.reps, old_lib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
