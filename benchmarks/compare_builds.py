"""Two intq builds and LiteRT XNNPACK side by side (run on demand, never in tests).

    python benchmarks/compare_builds.py OLD_TREE [NEW_TREE] [--reps 25] [--threads 1]

OLD_TREE / NEW_TREE are intq source trees with the extension built in place (e.g.
``git archive <commit> | tar -x -C /tmp/old && (cd /tmp/old && python setup.py build_ext --inplace)``);
NEW_TREE defaults to this checkout. Each build runs in its own worker process (two builds of one package
cannot share a process) and LiteRT XNNPACK in a third; the parent asks them in turn for a turn of batch-1
runs of the same model at --threads threads (as bench_runtime.interleaved: GAP_S of idle time, then BLOCK
back-to-back calls of which the first is untimed; one warm-up round), so the three are timed interleaved
in the same window, and prints medians in ms and the ratios to XNNPACK. Models as in bench_runtime.py (the tree's
../shared/data models and the random MobileNet v1 1.0/224). Imports: numpy, intq (per tree), ai_edge_litert.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODELS = ["mobilenet_v1_0.25_128_quant", "mobilenet_v2_1.0_224_quant", "mobilenet_v1_1.0_224_random"]


def worker(root: str, engine: str, threads: int) -> None:
    """Load the models from ``root``'s intq (or LiteRT), then time one run per model name read from stdin."""
    sys.path[:0] = [root, str(Path(root) / "benchmarks")]
    import numpy as np

    import intq
    if not intq.__file__.startswith(str(Path(root).resolve())):
        raise SystemExit(f"intq imported from {intq.__file__}, not from {root}")
    from bench_runtime import MODELS as DIR
    from bench_runtime import litert_runner, mobilenet_v1_graph
    from intq.io import graph_to_tflite_bytes
    runners = {}
    for name in MODELS:
        g = mobilenet_v1_graph() if name.endswith("random") else intq.load_tflite(DIR / f"{name}.tflite")
        x = np.random.default_rng(0).integers(0, 256, (1, *g.tensor(g.inputs[0]).shape[1:])).astype(np.uint8)
        if engine == "xnnpack":
            data = graph_to_tflite_bytes(g) if name.endswith("random") else (DIR / f"{name}.tflite").read_bytes()
            runners[name] = litert_runner(data, x, threads)
        else:
            it = intq.Interpreter(g, num_threads=threads)
            runners[name] = lambda it=it, x=x: it.run(x)
    print("ready", flush=True)
    for line in sys.stdin:                   # "name calls": one untimed call, then calls - 1 timed ones
        name, calls = line.split()
        runners[name]()
        times = []
        for _ in range(int(calls) - 1):
            t = time.perf_counter()
            runners[name]()
            times.append(time.perf_counter() - t)
        print(" ".join(map(str, times)), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new", nargs="?", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(*a.worker, a.threads)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_runtime import BLOCK, GAP_S
    engines = {"old": (a.old, "intq"), "new": (a.new, "intq"), "xnnpack": (a.new, "xnnpack")}
    procs = {}
    for key, (root, engine) in engines.items():
        procs[key] = subprocess.Popen([sys.executable, __file__, a.old, "--worker", str(Path(root).resolve()),
                                       engine, "--threads", str(a.threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if procs[key].stdout.readline().strip() != "ready":
            raise SystemExit(f"worker {key} failed to start")
    print(f"{a.threads} thread(s), batch 1")
    print("| model | old ms | new ms | LiteRT XNNPACK ms | old/XNNPACK | new/XNNPACK |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        times = {k: [] for k in procs}
        for i in range(-(-a.reps // (BLOCK - 1)) + 1):
            for k, p in procs.items():
                time.sleep(GAP_S)
                p.stdin.write(f"{name} {BLOCK}\n")
                p.stdin.flush()
                t = [float(v) for v in p.stdout.readline().split()]
                if i >= 1:
                    times[k] += t
        m = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        print(f"| {name} | {m['old']:.2f} | {m['new']:.2f} | {m['xnnpack']:.2f} | {m['old'] / m['xnnpack']:.2f} | "
              f"{m['new'] / m['xnnpack']:.2f} |", flush=True)
    for p in procs.values():
        p.stdin.close()
        p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
