"""Single-op graphs: intq's planned one-node graph against LiteRT on the same model bytes, op by op.

    python benchmarks/bench_ops.py [--threads 1] [--reps 200] [--dtype uint8] [--only POOL,RESIZE] [--split]

Run on demand, never in tests. Each case is one node of a shape real models use (Inception-style 3x3
stride-1 pools, a 2x2 stride-2 downsampling, MobileNet v2's residual ADD, DeepLab-style RESIZE_BILINEAR,
...), built as an intq graph and exported with ``intq.io.graph_to_tflite_bytes``. intq's ``Interpreter.run``
and LiteRT's default interpreter (its XNNPACK delegate where it takes the op, else LiteRT's own optimized
kernel) are timed interleaved with bench_runtime.py's ``interleaved`` (medians). intq's time includes
``Interpreter.run``'s copies of the inputs into the plan's buffers and of the output out of them; LiteRT's
includes ``set_tensor`` and ``get_tensor`` (a copy). intq's output is checked equal to LiteRT's reference
kernels (BUILTIN_REF, the oracle) on the same bytes; where LiteRT's default path rounds differently (its
optimized MUL, MEAN and RESIZE_BILINEAR; README, "Bit-exactness"), the number of codes in which it differs is
printed. With ``--split``, a second line per case times the kernels alone, interleaved the same way: intq's
plan records in one C call (inputs already in the plan's buffers, no copies) and LiteRT's ``invoke`` (inputs
already set), and prints each side's per-call overhead (the full call's median minus the kernel's). Imports:
numpy, intq, ai_edge_litert.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import intq
from intq.io import graph_to_tflite_bytes
from intq.ir import OP_OPTIONS, Graph
from intq.runtime.fast._lib import LIB

sys.path.insert(0, str(Path(__file__).parent))
from bench_runtime import _q, interleaved  # noqa: E402

POOL_SHAPES = [(35, 192, 3, 1, "SAME"), (17, 768, 3, 1, "SAME"), (56, 64, 2, 2, "VALID"), (28, 256, 5, 1, "SAME"),
               (14, 512, 7, 1, "SAME")]


def one_node(op: str, inputs: list, out: tuple, options, constants=()) -> Graph:
    """A graph with one node: inputs [(name, shape, dtype, quant)], constants [(name, array)], out (shape, dtype,
    quant)."""
    g = Graph()
    for name, shape, dtype, q in inputs:
        g.add_tensor(name, shape, dtype, q)
    for name, data in constants:
        g.add_constant(name, data, None)
    g.add_tensor("y", *out)
    g.add_node(op, [i[0] for i in inputs] + [c[0] for c in constants], ["y"], options)
    g.inputs, g.outputs = [i[0] for i in inputs], ["y"]
    return g


def cases(dtype: str):
    """(name, graph, input shapes) of every case."""
    zp, qmin = (3, -128) if dtype == "int8" else (128, 0)        # qmin: SOFTMAX's and LOGISTIC's output zero point
    qa, qb, qo = _q(0.1, zp), _q(0.07, zp + 5), _q(0.15, zp - 3)
    for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for hw, c, k, s, padding in POOL_SHAPES:
            o = -(-hw // s) if padding == "SAME" else (hw - k) // s + 1
            yield (f"{op} {hw}x{hw}x{c} {k}x{k}/{s} {padding}",
                   one_node(op, [("x", (1, hw, hw, c), dtype, qa)], ((1, o, o, c), dtype, qa),
                            OP_OPTIONS[op](padding=padding, filter_h=k, filter_w=k, stride_h=s, stride_w=s)),
                   [(1, hw, hw, c)])
    for op, shape in (("ADD", (1, 56, 56, 24)), ("ADD", (1, 14, 14, 64)), ("MUL", (1, 28, 28, 64))):
        yield (f"{op} {'x'.join(map(str, shape[1:]))}",
               one_node(op, [("a", shape, dtype, qa), ("b", shape, dtype, qb)], (shape, dtype, qo), OP_OPTIONS[op]()),
               [shape, shape])
    for same in (True, False) if dtype == "uint8" else (True,):      # int8 inputs must share the output's qparams
        s = (1, 28, 28, 128)
        yield (f"CONCATENATION 28x28x(128+128) {'one scale' if same else 'requantized'}",
               one_node("CONCATENATION", [("a", s, dtype, qa), ("b", s, dtype, qa if same else qb)],
                        ((1, 28, 28, 256), dtype, qa if same else qo), OP_OPTIONS["CONCATENATION"](axis=3)),
               [s, s])
    for rows in (1, 64):
        yield (f"SOFTMAX {rows}x1001",
               one_node("SOFTMAX", [("x", (rows, 1001), dtype, qa)], ((rows, 1001), dtype, _q(1 / 256, qmin)),
                        OP_OPTIONS["SOFTMAX"]()), [(rows, 1001)])
    yield ("MEAN 7x7x1280 axes 1,2",
           one_node("MEAN", [("x", (1, 7, 7, 1280), dtype, qa)], ((1, 1, 1, 1280), dtype, qo),
                    OP_OPTIONS["MEAN"](keep_dims=True), [("axes", np.array([1, 2], np.int32))]), [(1, 7, 7, 1280)])
    for align in (True, False):
        yield (f"RESIZE_BILINEAR 33x33x256->65x65{' align_corners' if align else ''}",
               one_node("RESIZE_BILINEAR", [("x", (1, 33, 33, 256), dtype, qa)], ((1, 65, 65, 256), dtype, qa),
                        OP_OPTIONS["RESIZE_BILINEAR"](align_corners=align), [("size", np.array([65, 65], np.int32))]),
               [(1, 33, 33, 256)])
    yield ("LOGISTIC 56x56x64",
           one_node("LOGISTIC", [("x", (1, 56, 56, 64), dtype, qa)], ((1, 56, 56, 64), dtype, _q(1 / 256, qmin)),
                    OP_OPTIONS["LOGISTIC"]()), [(1, 56, 56, 64)])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--dtype", choices=["uint8", "int8"], default="uint8")
    ap.add_argument("--only", default="", help="comma-separated name prefixes (e.g. MAX_POOL,RESIZE)")
    ap.add_argument("--split", action="store_true", help="also time the kernels alone (plan records, invoke)")
    a = ap.parse_args(argv)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    rng = np.random.default_rng(0)
    info = np.iinfo(a.dtype)
    only = [s for s in a.only.split(",") if s]
    print(f"{a.dtype}, {a.threads} thread(s), median us per call")
    for name, g, shapes in cases(a.dtype):
        if only and not any(name.startswith(s) for s in only):
            continue
        xs = [rng.integers(info.min, info.max + 1, s).astype(a.dtype) for s in shapes]
        it = intq.Interpreter(g, num_threads=a.threads)
        if it._plan is None:
            raise SystemExit(f"{name}: not planned")
        model = graph_to_tflite_bytes(g)
        lite = Interpreter(model_content=model, num_threads=a.threads)
        oracle = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)

        for engine in (lite, oracle):
            engine.allocate_tensors()

        def runner(engine, xs=xs):
            """set_tensor of each input, invoke, get_tensor (a copy, as intq's run returns a new array)"""
            ins, out = [d["index"] for d in engine.get_input_details()], engine.get_output_details()[0]["index"]

            def run():
                for i, x in zip(ins, xs):
                    engine.set_tensor(i, x)
                engine.invoke()
                return engine.get_tensor(out)
            return run
        lite_run = runner(lite)
        got = it.run(*xs)[0]
        if not np.array_equal(got, runner(oracle)()):
            raise SystemExit(f"{name}: intq differs from LiteRT's reference kernels")
        differ = int(np.count_nonzero(got != lite_run()))
        t = interleaved({"intq": lambda: it.run(*xs), "litert": lite_run}, a.reps)
        note = f"  (LiteRT's default path differs in {differ} codes)" if differ else ""
        print(f"  {name:48s} intq {t['intq'] * 1e6:8.1f}  LiteRT {t['litert'] * 1e6:8.1f}"
              f"  intq/LiteRT {t['intq'] / t['litert']:.2f}{note}")
        if a.split:
            lite_run()                                    # LiteRT's inputs set; intq's copied in by the last run
            recs = it._plan.records
            at, n = recs.ctypes.data, len(recs)
            k = interleaved({"intq": lambda: LIB.intq_run_plan(at, n), "litert": lite.invoke}, a.reps)
            print(f"  {'  kernels alone':48s} intq {k['intq'] * 1e6:8.1f}  LiteRT {k['litert'] * 1e6:8.1f}"
                  f"  intq/LiteRT {k['intq'] / k['litert']:.2f}  (per-call overhead: intq "
                  f"{(t['intq'] - k['intq']) * 1e6:.1f}, LiteRT {(t['litert'] - k['litert']) * 1e6:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
