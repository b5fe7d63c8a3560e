"""AVERAGE_POOL_2D and MAX_POOL_2D: intq's planned one-node graph against LiteRT on the same model bytes.

    python benchmarks/bench_pools.py [--threads 1] [--reps 200] [--dtype uint8]

Run on demand, never in tests. Each shape is one pooling node (Inception-style 3x3 stride-1 SAME pools, a 2x2
stride-2 downsampling, larger stride-1 windows), built as an intq graph and exported with
``intq.io.graph_to_tflite_bytes``; intq's ``Interpreter.run`` and LiteRT's default interpreter (its
XNNPACK delegate where it takes the op, else LiteRT's own optimized kernel) are timed interleaved with
bench_runtime.py's ``interleaved`` (medians), and their outputs are checked to be equal. Imports: numpy, intq,
ai_edge_litert.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import intq
from intq.io import graph_to_tflite_bytes
from intq.ir import OP_OPTIONS, Graph

sys.path.insert(0, str(Path(__file__).parent))
from bench_runtime import _q, interleaved, litert_runner  # noqa: E402

# (H = W, C, window, stride, padding)
SHAPES = [(35, 192, 3, 1, "SAME"), (17, 768, 3, 1, "SAME"), (56, 64, 2, 2, "VALID"), (28, 256, 5, 1, "SAME"),
          (14, 512, 7, 1, "SAME")]


def pool_graph(op: str, dtype: str, hw: int, c: int, k: int, s: int, padding: str) -> Graph:
    """One pooling node on a [1, hw, hw, c] input (input and output share their quantization, as TFLite needs)."""
    q = _q(0.1, 3 if dtype == "int8" else 128)
    o = -(-hw // s) if padding == "SAME" else (hw - k) // s + 1
    g = Graph()
    g.add_tensor("x", (1, hw, hw, c), dtype, q)
    g.add_tensor("y", (1, o, o, c), dtype, q)
    g.add_node(op, ["x"], ["y"], OP_OPTIONS[op](padding=padding, filter_h=k, filter_w=k, stride_h=s, stride_w=s,
                                                activation="NONE"))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--dtype", choices=["uint8", "int8"], default="uint8")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    info = np.iinfo(a.dtype)
    print(f"{a.dtype}, {a.threads} thread(s), median us per call")
    for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for hw, c, k, s, padding in SHAPES:
            g = pool_graph(op, a.dtype, hw, c, k, s, padding)
            x = rng.integers(info.min, info.max + 1, (1, hw, hw, c)).astype(a.dtype)
            it = intq.Interpreter(g, num_threads=a.threads)
            if it._plan is None:
                raise SystemExit(f"{op} {hw}x{hw}x{c}: not planned")
            lite = litert_runner(graph_to_tflite_bytes(g), x, a.threads)
            lite()
            if not np.array_equal(it.run(x)[0], lite.output()):
                raise SystemExit(f"{op} {hw}x{hw}x{c}: intq and LiteRT differ")
            t = interleaved({"intq": lambda: it.run(x), "litert": lite}, a.reps)
            print(f"  {op:16s} {hw:3d}x{hw}x{c:<4d} {k}x{k}/{s} {padding:5s} intq {t['intq'] * 1e6:8.1f}"
                  f"  LiteRT {t['litert'] * 1e6:8.1f}  intq/LiteRT {t['intq'] / t['litert']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
