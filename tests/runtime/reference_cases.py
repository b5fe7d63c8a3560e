"""Test helpers for the reference-kernel tests: one-op graphs and their float models. Imports: numpy, intq."""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.tensor import Quantization
from intq.runtime.interpreter import Interpreter

RANGES = {"uint8": (0, 255), "int8": (-128, 127)}


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
    rank = data.draw(st.integers(1, 4))
    axis = data.draw(st.integers(-rank, rank - 1))
    base = data.draw(st.lists(st.integers(1, max_dim), min_size=rank, max_size=rank))
    shapes = []
    for _ in range(data.draw(st.integers(1, max_inputs))):
        s = list(base)
        s[axis] = data.draw(st.integers(1, max_axis_len))
        shapes.append(tuple(s))
    return axis, shapes


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
