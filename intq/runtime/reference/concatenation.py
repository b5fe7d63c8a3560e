"""Reference CONCATENATION on any axis, uint8 and int8 (others: a copy). Imports: numpy, intq.ir, intq.scheme.

Integer-only default: an input whose (scale, zero point) equals the output's is copied byte for byte
(TFLite's ``memcpy``; what the paper's shared concat range and the int8 spec give).

Oracle quirk, isolated: TFLite's uint8 ``reference_ops::ConcatenationWithScaling`` requantizes an input
whose qparams differ from the output's **in float32** (notes A.12)::

    scale = s_in * (1.f / s_out);  bias = -z_in * scale          # float32
    q_out = clamp((int32)TfLiteRound(q * scale + bias) + z_out, 0, 255)

The result depends only on the input code q, so :func:`requant_table` evaluates that float32 formula
for all 256 codes at prepare time and the kernel only indexes the table: run time stays integer-only
and is byte-identical to LiteRT. int8 inputs must share the output's qparams (LiteRT concatenation.cc
refuses otherwise), and so must int16.

Fused activation: LiteRT's Prepare rejects anything but NONE; intq clamps to the usual fused range
(``activation_range``), which is a no-op for NONE.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import activation_range, per_tensor, require
from intq.runtime.reference.shape_helpers import QUANTIZED, normalize_axis
from intq.scheme.requant import concat_rescale


def requant_table(s_in: float, z_in: int, s_out: float, z_out: int) -> np.ndarray:
    """uint8[256]: LiteRT's float32 ConcatenationWithScaling requantization of every input code q
    (intq.scheme.requant.concat_rescale, which intq.qat's eval-mode simulation calls too)."""
    return concat_rescale(np.arange(256), s_in, z_in, s_out, z_out).astype(np.uint8)


def prepare(graph: Graph, node: Node) -> dict:
    """Axis, per-input requantization table (None = copy) and the fused activation clamp."""
    require(len(node.inputs) >= 1 and len(node.outputs) == 1 and None not in node.inputs,
            "CONCATENATION takes one or more inputs and one output", graph, node)
    out = graph.tensor(node.outputs[0])
    xs = [graph.tensor(n) for n in node.inputs]
    rank = len(xs[0].shape)
    axis = normalize_axis(graph, node, int(node.options.axis), rank, xs[0].name)
    total = 0
    for x in xs:
        require(x.dtype == out.dtype, f"CONCATENATION inputs must all be {out.dtype}, got {x.dtype}",
                graph, node, x.name)
        require(len(x.shape) == rank and all(x.shape[d] == xs[0].shape[d] for d in range(rank) if d != axis),
                f"CONCATENATION input {list(x.shape)} does not match {list(xs[0].shape)} off axis {axis}",
                graph, node, x.name)
        total += x.shape[axis]
    expect = list(xs[0].shape)
    expect[axis] = total
    ok = list(out.shape) == expect if axis == 0 else len(out.shape) == rank and list(out.shape[1:]) == expect[1:]
    require(ok, f"CONCATENATION output {list(out.shape)} should be {expect}", graph, node, out.name)
    tables: list[np.ndarray | None] = [None] * len(xs)
    lo, hi = None, None
    if out.dtype in QUANTIZED:
        s_out, z_out = per_tensor(graph, node, out.name)
        for i, x in enumerate(xs):
            s_in, z_in = per_tensor(graph, node, x.name)
            if np.float32(s_in) == np.float32(s_out) and z_in == z_out:
                continue
            require(out.dtype == "uint8", f"int8 CONCATENATION needs every input's scale and zero point equal "
                    f"to the output's (TFLite), got ({s_in}, {z_in}) vs ({s_out}, {z_out})", graph, node, x.name)
            tables[i] = requant_table(s_in, z_in, s_out, z_out)
        lo, hi = activation_range(node.options.activation, s_out, z_out, out.dtype, graph=graph, node=node)
    else:
        require(node.options.activation == "NONE", "a fused activation needs a quantized output", graph, node)
    return dict(axis=axis, tables=tables, lo=lo, hi=hi)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x_i: T[..., n_i, ...] -> T[..., sum n_i, ...]; requantized inputs go through their uint8 table."""
    parts = [x if table is None else table[x] for x, table in zip(inputs, p["tables"])]
    y = np.concatenate(parts, axis=p["axis"])
    if p["lo"] is not None:
        y = np.clip(y, p["lo"], p["hi"]).astype(y.dtype)
    return [y]


KERNELS = {"CONCATENATION": Kernel(prepare, run)}
