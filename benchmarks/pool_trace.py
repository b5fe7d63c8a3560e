"""Where a second thread's time goes, call by call (run on demand, never in tests).

    python benchmarks/pool_trace.py [--model mobilenet_v2_1.0_224_quant] [--rounds 100] [--top 15]

Builds the kernel library from csrc/ with -DINTQ_POOL_TRACE (the system C compiler, into a temporary
directory), which timestamps every intq_parallel_for call (csrc/intq_threads.c), and runs this checkout's
batch-1 plan of the model at 1 and 2 threads in the pattern of bench_runtime.py: each turn a 2 ms pause, one
untimed run and three timed ones, the thread counts alternating. Prints, per thread count, the median run and
the time inside the kernels' calls; for the 2-thread runs what the pool itself costs (publishing a call, the
worker's start after it, the caller's wait for the worker's last chunk, the workers' share of the chunks);
then the calls that lose most against a perfect 2x (median us at 1 and 2 threads). Models as in
bench_runtime.py (``random`` is the random MobileNet v1 1.0/224). Imports: numpy, intq.
"""
from __future__ import annotations

import argparse
import ctypes
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ab_builds import planned, records_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORDS = 10           # per call: entry, published, caller's chunks done, return, a worker's first chunk start,
#                      a worker's last chunk end (0: none), tasks, chunks, chunks workers ran, threads
GAP_S = 0.002


def traced_library(workdir: str) -> ctypes.CDLL:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("pool_trace.py needs a C compiler")
    lib = str(Path(workdir) / "_intq_fast_traced.so")
    cmd = [cc, "-O3", "-std=gnu11", "-pthread", "-ffp-contract=off", "-fPIC", "-shared", "-DINTQ_POOL_TRACE",
           *sorted(str(p) for p in (ROOT / "csrc").glob("*.c")), "-o", lib]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stderr[-3000:])
    dll = ctypes.CDLL(lib)
    dll.intq_run_plan.argtypes = [ctypes.c_void_p, ctypes.c_long]
    dll.intq_pool_trace.argtypes = [ctypes.c_void_p, ctypes.c_long]
    dll.intq_pool_trace.restype = ctypes.c_long
    return dll


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2_1.0_224_quant")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        lib = traced_library(d)
        plans = {}
        for t in (1, 2):
            it, _ = planned(a.model, t)
            recs, work = records_for(lib, it._plan)
            plans[t] = (it, recs, work)                # the interpreter and workspace stay alive
        buf = np.zeros((8192, WORDS), np.int64)
        calls = {1: [], 2: []}
        runs = {1: [], 2: []}
        for _ in range(a.rounds):
            for t, (_, recs, _) in plans.items():
                time.sleep(GAP_S)
                lib.intq_run_plan(recs.ctypes.data, len(recs))
                lib.intq_pool_trace(buf.ctypes.data, len(buf))
                for _ in range(3):
                    t0 = time.perf_counter()
                    lib.intq_run_plan(recs.ctypes.data, len(recs))
                    runs[t].append(time.perf_counter() - t0)
                    calls[t].append(buf[:lib.intq_pool_trace(buf.ctypes.data, len(buf))].copy())
    n = min(len(c) for t in calls for c in calls[t])
    per = {t: np.stack([c[:n] for c in calls[t]]).astype(np.float64) for t in calls}   # runs x calls x words
    inside = {t: np.median(p[:, :, 3] - p[:, :, 0], axis=0) / 1e3 for t, p in per.items()}
    for t in (1, 2):
        print(f"{a.model}, {t} thread(s): run {np.median(runs[t]) * 1e3:.3f} ms (median of {len(runs[t])}), "
              f"{n} kernel calls, {inside[t].sum():.0f} us inside them")
    p = per[2]
    par = p[:, :, 9] > 1
    workers = p[:, :, 8] > 0
    publish = np.median(np.where(par, p[:, :, 1] - p[:, :, 0], 0).sum(axis=1)) / 1e3
    wait = np.median(np.where(par, p[:, :, 3] - p[:, :, 2], 0).sum(axis=1)) / 1e3
    start = np.median((p[:, :, 4] - p[:, :, 1])[par & workers]) / 1e3 if (par & workers).any() else float("nan")
    share = p[:, :, 8][par].sum() / max(1.0, p[:, :, 7][par].sum())
    print(f"2 threads, per run: {int(par[0].sum())} calls split; setting them up and publishing them "
          f"{publish:.1f} us; the caller waiting for the worker's last chunk {wait:.1f} us; the worker's first "
          f"chunk {start:.2f} us after publication (median); the workers ran {100 * share:.0f} % of the chunks")
    t1, t2 = inside[1], inside[2]
    tasks = per[2][0, :, 6].astype(int)
    end_wait = np.median(np.where(par, p[:, :, 3] - p[:, :, 2], 0), axis=0) / 1e3
    print(f"lost against a perfect 2x in the calls: {(t2 - t1 / 2).sum():.0f} us; calls losing most:")
    print("  call  tasks   1 thread us  2 threads us  speed-up  lost us  caller's end wait us")
    for c in np.argsort(-(t2 - t1 / 2))[:a.top]:
        print(f"  {c:4d} {tasks[c]:6d} {t1[c]:12.1f} {t2[c]:13.1f} {t1[c] / t2[c]:9.2f} {t2[c] - t1[c] / 2:8.1f} "
              f"{end_wait[c]:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
