"""Memory the fast kernels' prepare keeps: bytes of every array in each node's prepared constants, per op, and
per weight for the conv and fully connected layers (run on demand, never in tests).

    [INTQ_ISA=portable|avx2|avx512-vnni] python benchmarks/packed_bytes.py [--models random mobilenet_v2_1.0_224_quant]

The packing depends on the ISA level the process runs (``INTQ_ISA`` caps it): the portable level keeps only its
own int16 copy of the conv weights, the SIMD levels an int8 and an int16 layout. Models as in bench_runtime.py
(``random`` is the random MobileNet v1 1.0/224, ``int8_random`` its twin in TFLite's int8 scheme). Imports: numpy,
intq.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import intq
from intq.runtime.fast import ISA

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import MODELS, mobilenet_v1_graph  # noqa: E402


def array_bytes(obj, seen: set) -> int:
    """Bytes of the distinct arrays reachable from ``obj`` through dicts, lists and tuples (views count once,
    by their base)."""
    if isinstance(obj, np.ndarray):
        base = obj if obj.base is None or not isinstance(obj.base, np.ndarray) else obj.base
        if id(base) in seen:
            return 0
        seen.add(id(base))
        return base.nbytes
    if isinstance(obj, dict):
        return sum(array_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(array_bytes(v, seen) for v in obj)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["random", "mobilenet_v2_1.0_224_quant",
                                                    "mobilenet_v1_0.25_128_quant"])
    args = ap.parse_args(argv)
    schemes = {"random": "uint8", "int8_random": "int8"}
    for model in args.models:
        path = MODELS / f"{model}.tflite"
        if model not in schemes and not path.exists():
            print(f"{model}: {path} not found, skipped")
            continue
        g = mobilenet_v1_graph(scheme=schemes[model]) if model in schemes else intq.load_tflite(path)
        it = intq.Interpreter(g)
        per_op, weights, seen = defaultdict(int), defaultdict(int), set()
        for node, _, params in it._steps:
            per_op[node.op] += array_bytes(params, seen)
            if node.op in ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D"):
                weights[node.op] += g.tensor(node.inputs[1]).data.size
        print(f"{model} at level {ISA}: {sum(per_op.values()) / 1e6:.2f} MB of prepared constants")
        for op, b in sorted(per_op.items(), key=lambda kv: -kv[1]):
            per_w = f", {b / weights[op]:.2f} bytes a weight" if weights.get(op) else ""
            print(f"  {op:22s} {b / 1e6:8.3f} MB{per_w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
