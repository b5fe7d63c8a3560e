"""Test helpers for the reference-kernel tests: one-op graphs and their float models.

Imports: numpy, intq, strategies (RANGES).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import OP_OPTIONS
from intq.ir.tensor import Quantization
from intq.runtime.interpreter import Interpreter
from strategies import RANGES


def q(scale, zero_point=0, axis=0) -> Quantization:
    """Per-tensor quantization from a scalar scale, per-channel from a list (zero points broadcast)."""
    scale = np.atleast_1d(np.asarray(scale, np.float32))
    zp = np.broadcast_to(np.asarray(zero_point, np.int64), scale.shape)
    return Quantization(scale, zp, axis)


def one_op(op: str, inputs, constants, output, options=None) -> Graph:
    """A graph with one node. inputs/constants: [(name, shape|array, dtype, quant)], output: (shape, dtype, quant).

    Node inputs are the input names then constant names, in the order given; a constant named None is
    an absent optional input.
    """
    g = Graph()
    names = []
    for name, shape, dtype, quant in inputs:
        g.add_tensor(name, shape, dtype, quant)
        names.append(name)
    for name, data, quant in constants:
        if name is None:
            names.append(None)
            continue
        g.add_constant(name, np.asarray(data), quant)
        names.append(name)
    g.add_tensor("y", output[0], output[1], output[2])
    g.add_node(op, names, ["y"], options, name=f"{op.lower()}_under_test")
    g.inputs, g.outputs = [n for n, *_ in inputs], ["y"]
    return g


def pool_graph(op: str, x: np.ndarray, kh: int, kw: int, sh: int, sw: int, padding: str, activation: str,
               quant) -> Graph:
    """One AVERAGE_POOL_2D / MAX_POOL_2D node on NHWC ``x`` (the output shape from TFLite's padding rule)."""
    n, h, w, c = x.shape
    oh = -(-h // sh) if padding == "SAME" else (h - kh) // sh + 1
    ow = -(-w // sw) if padding == "SAME" else (w - kw) // sw + 1
    return one_op(op, [("x", x.shape, str(x.dtype), quant)], [], ((n, oh, ow, c), str(x.dtype), quant),
                  OP_OPTIONS[op](padding=padding, filter_h=kh, filter_w=kw, stride_h=sh, stride_w=sw,
                                 activation=activation))


def concat_graph(shapes, axis: int, dtype: str, quants, out_quant, activation: str = "NONE") -> Graph:
    """A one-node CONCATENATION of inputs x0, x1, ... of ``shapes`` (and per-input ``quants``) on ``axis``."""
    from intq.ir.ops import ConcatenationOptions
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    inputs = [(f"x{i}", s, dtype, qq) for i, (s, qq) in enumerate(zip(shapes, quants))]
    return one_op("CONCATENATION", inputs, [], (tuple(out), dtype, out_quant),
                  ConcatenationOptions(axis=axis, activation=activation))


def draw_concat_shapes(data, max_dim: int, max_inputs: int, max_axis_len: int) -> tuple[int, list[tuple]]:
    """(axis, input shapes) drawn with hypothesis ``data``: rank 1-4, shapes equal except on ``axis``."""
    from hypothesis import strategies as st

    from strategies import shape_and_axis
    base, axis = shape_and_axis(data.draw, max_dim)
    shapes = []
    for _ in range(data.draw(st.integers(1, max_inputs))):
        s = list(base)
        s[axis] = data.draw(st.integers(1, max_axis_len))
        shapes.append(tuple(s))
    return axis, shapes


def binary_matches_float(data, op: str, max_in_scale: float, out_scale, real, trim_b_rank: bool) -> None:
    """Property check of ADD / MUL against float maths, drawn with hypothesis ``data``.

    Random dtype, shapes (``b`` broadcast: size-1 dims, and fewer leading dims when ``trim_b_rank``), input
    scales in [0.005, max_in_scale], zero points; ``out_scale(rng, sa, sb)`` picks the output scale and
    ``real(a, b)`` is the float result, which the kernel must match within one output LSB.
    """
    from hypothesis import strategies as st

    from intq.ir.ops import ActivationOptions
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    b_shape = tuple(d if data.draw(st.booleans()) else 1 for d in shape)
    if trim_b_rank:
        b_shape = b_shape[data.draw(st.integers(0, len(shape) - 1)):]
    lo, hi = RANGES[dtype]
    sa, sb = (float(np.float32(rng.uniform(0.005, max_in_scale))) for _ in range(2))
    za, zb, zy = (int(v) for v in rng.integers(lo, hi + 1, 3))
    sy = float(np.float32(out_scale(rng, sa, sb)))
    g = one_op(op, [("a", shape, dtype, q(sa, za)), ("b", b_shape, dtype, q(sb, zb))], [],
               (shape, dtype, q(sy, zy)), ActivationOptions("NONE"))
    a, b = rng.integers(lo, hi + 1, shape).astype(dtype), rng.integers(lo, hi + 1, b_shape).astype(dtype)
    within_one_lsb(run(g, a, b), real(dequant(a, sa, za), dequant(b, sb, zb)), sy, zy, dtype)


def run(graph: Graph, *xs) -> np.ndarray:
    """Run the one-op graph with the reference kernels and return its output."""
    (y,) = Interpreter(graph, kernels="reference").run(*xs)
    return y


def dequant(x, scale, zero_point) -> np.ndarray:
    """Real values in float64: scale * (q - zp) (per-channel scale broadcast on the last axis)."""
    return np.asarray(scale, np.float64) * (np.asarray(x, np.float64) - np.asarray(zero_point, np.float64))


def within_one_lsb(y, real_out, scale, zero_point, dtype) -> None:
    """Assert y equals the float model's real output requantized, within 1 LSB (where it does not clamp)."""
    lo, hi = RANGES[dtype]
    ideal = np.asarray(real_out, np.float64) / scale + zero_point
    clipped = np.clip(ideal, lo, hi)
    diff = np.abs(y.astype(np.float64) - clipped)
    assert diff.max(initial=0) <= 1.0 + 1e-6, f"max |y - float model| = {diff.max()} LSB"


def tflite_layer_options(model_path) -> list[tuple[str, object]]:
    """(op name, intq options) per operator of a .tflite file, read with the ``tflite`` schema package.

    Test-only and minimal (CONV_2D, DEPTHWISE_CONV_2D, pools; other ops get None): lets the kernel tests
    replay the shared golden tensors layer by layer without depending on intq's own importer.
    """
    import tflite

    from intq.ir.ops import Conv2DOptions, DepthwiseConv2DOptions, Pool2DOptions
    act = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
    pad = {0: "SAME", 1: "VALID"}
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(open(model_path, "rb").read(), 0)
    sg = model.Subgraphs(0)
    result = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        table = op.BuiltinOptions()
        opts = None
        if name == "CONV_2D":
            o = tflite.Conv2DOptions()
            o.Init(table.Bytes, table.Pos)
            opts = Conv2DOptions(pad[o.Padding()], o.StrideH(), o.StrideW(), o.DilationHFactor(),
                                 o.DilationWFactor(), act[o.FusedActivationFunction()])
        elif name == "DEPTHWISE_CONV_2D":
            o = tflite.DepthwiseConv2DOptions()
            o.Init(table.Bytes, table.Pos)
            opts = DepthwiseConv2DOptions(pad[o.Padding()], o.StrideH(), o.StrideW(), o.DilationHFactor(),
                                          o.DilationWFactor(), o.DepthMultiplier(), act[o.FusedActivationFunction()])
        elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            o = tflite.Pool2DOptions()
            o.Init(table.Bytes, table.Pos)
            opts = Pool2DOptions(pad[o.Padding()], o.StrideH(), o.StrideW(), o.FilterHeight(), o.FilterWidth(),
                                 act[o.FusedActivationFunction()])
        result.append((name, opts))
    return result
