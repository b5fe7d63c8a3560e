"""Reference AVERAGE_POOL_2D and MAX_POOL_2D, uint8 and int8, bit-exact with LiteRT. Imports: numpy, intq.ir, intq.scheme.

TFLite ``reference_ops::AveragePool/MaxPool`` (uint8) and ``reference_integer_ops`` (int8), notes A.13.
The window is clipped to the image (padded taps are skipped, not read as zero point):

    AVG: acc = sum of the n valid q;  q_out = round_half_away(acc / n) in integers, i.e.
         (acc + n/2) / n for acc > 0 and (acc - n/2) / n otherwise (C division truncates toward zero;
         uint8 sums are never negative, so both dtypes share the formula); then clamp(act_min, act_max).
    MAX: q_out = clamp(max of the valid q, act_min, act_max).

Input and output must share scale and zero point (pooling.cc), so no rescaling happens.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import (activation_range, clamp_cast, compute_padding, dtype_range,
                                           padded_windows, per_tensor, require)
from intq.scheme.requant import average_round


def _prepare(graph: Graph, node: Node) -> dict:
    require(len(node.inputs) == 1 and len(node.outputs) == 1, f"{node.op} takes one input and one output",
            graph, node)
    o = node.options
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    require(x.dtype in ("uint8", "int8") and out.dtype == x.dtype,
            f"{node.op} supports uint8/int8 in and out of one dtype, got {x.dtype} -> {out.dtype}", graph, node, x.name)
    require(len(x.shape) == 4 and len(out.shape) == 4, f"{node.op} needs 4-D NHWC tensors", graph, node, x.name)
    s_in, z_in = per_tensor(graph, node, x.name)
    s_out, z_out = per_tensor(graph, node, out.name)
    require(abs(s_in - s_out) <= 1e-6 and z_in == z_out,
            f"{node.op} input and output must share scale and zero point ({s_in}, {z_in}) vs ({s_out}, {z_out})",
            graph, node, out.name)
    require(min(o.filter_h, o.filter_w, o.stride_h, o.stride_w) >= 1, "filter sizes and strides must be >= 1",
            graph, node)
    _, h, w, c = x.shape
    oh, ph = compute_padding(o.padding, h, o.filter_h, o.stride_h)
    ow, pw = compute_padding(o.padding, w, o.filter_w, o.stride_w)
    require(oh > 0 and ow > 0, f"{o.filter_h}x{o.filter_w} window does not fit input {h}x{w}", graph, node, x.name)
    require(tuple(out.shape[1:]) == (oh, ow, c),
            f"output shape {list(out.shape)} should be [N, {oh}, {ow}, {c}]", graph, node, out.name)
    geometry = dict(kernel=(o.filter_h, o.filter_w), stride=(o.stride_h, o.stride_w), dilation=(1, 1),
                    out_hw=(oh, ow), pad=(ph, pw))
    # number of valid taps per output position, [1, oh, ow, 1] (depends on geometry only)
    ones = np.ones((1, h, w, 1), np.int32)
    count = sum(padded_windows(ones, **geometry))
    lo, hi = activation_range(o.activation, s_out, z_out, out.dtype, graph=graph, node=node)
    return dict(geometry=geometry, count=count, lo=lo, hi=hi, dtype=out.dtype)


def _run_average(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x uint8|int8[N,H,W,C] -> mean over each clipped window, rounded half away from zero."""
    views = padded_windows(inputs[0].astype(np.int32), **p["geometry"])
    acc = sum(views)                                               # int32 [N,oh,ow,C]
    acc = average_round(acc, p["count"])                            # C's truncating division, both signs
    return [clamp_cast(acc, p["lo"], p["hi"], p["dtype"])]


def _run_max(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x uint8|int8[N,H,W,C] -> max over each clipped window (padding reads the dtype's lowest code)."""
    lowest = dtype_range(p["dtype"])[0]
    views = padded_windows(inputs[0].astype(np.int32), fill=lowest, **p["geometry"])
    acc = np.maximum.reduce(views)
    return [clamp_cast(acc, p["lo"], p["hi"], p["dtype"])]


KERNELS = {"AVERAGE_POOL_2D": Kernel(_prepare, _run_average),
           "MAX_POOL_2D": Kernel(_prepare, _run_max)}
