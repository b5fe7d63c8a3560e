"""Reference DEPTHWISE_CONV_2D, uint8 per-tensor and int8 per-channel, bit-exact with LiteRT. Imports: numpy, intq.ir, intq.scheme.

TFLite ``reference_ops::DepthwiseConv`` (uint8, output rounding kAwayFromZero = plain MBQM) and
``reference_integer_ops::DepthwiseConvPerChannel`` (int8, no weight offset). Filter [1, kh, kw, C*M];
output channel oc = ic*M + m reads input channel ic = oc // M (notes A.9):

    acc[b,oy,ox,oc] = sum_{ky,kx} (q_w[0,ky,kx,oc] - z_w) * (q_x[b,iy,ix,oc//M] - z_x) + bias[oc]
    q_out = clamp(MBQM(acc, M0[oc], shift[oc]) + z_out, act_min, act_max)

Vectorised as a sum over the kh*kw shifted views of the input (int32, wrapping like TFLite's accumulator).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import (activation_range, clamp_cast, conv_geometry, conv_output_multipliers,
                                           padded_windows, per_tensor, require)
from intq.runtime.reference.conv import bias_vector, check_conv_operands
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier


def prepare(graph: Graph, node: Node) -> dict:
    """Geometry, int32 weights minus zero point [kh*kw, C*M], per-channel multipliers, clamp range."""
    check_conv_operands(graph, node)
    o = node.options
    x, w, out = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    c_in = x.shape[3]
    one, kh, kw, c_out = w.shape
    require(one == 1, f"depthwise filter must be [1, kh, kw, C*M], got {list(w.shape)}", graph, node, w.name)
    mult = o.depth_multiplier
    require(mult >= 1 and c_out == c_in * mult,
            f"filter depth {c_out} != input depth {c_in} x depth_multiplier {mult}", graph, node, w.name)
    oh, ph, ow, pw = conv_geometry(graph, node, (kh, kw), c_out)
    _, z_in = per_tensor(graph, node, x.name)
    s_out, z_out = per_tensor(graph, node, out.name)
    z_w = int(w.quant.zero_point[0]) if w.dtype == "uint8" else 0
    m0, shift = conv_output_multipliers(graph, node, weight_axis=3)
    lo, hi = activation_range(o.activation, s_out, z_out, out.dtype, graph=graph, node=node)
    taps = (w.data.astype(np.int32) - z_w).reshape(kh * kw, c_out)      # [kh*kw, C*M], row (ky, kx)
    return dict(kernel=(kh, kw), stride=(o.stride_h, o.stride_w), dilation=(o.dilation_h, o.dilation_w),
                out_hw=(oh, ow), pad=(ph, pw), mult=mult, taps=taps, z_in=z_in, z_out=z_out,
                bias=bias_vector(graph, node, c_out), m0=m0, shift=shift, lo=lo, hi=hi, dtype=out.dtype)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """Integer-only DEPTHWISE_CONV_2D: x uint8|int8[N,H,W,C] -> same dtype [N,out_h,out_w,C*M]."""
    x = inputs[0].astype(np.int32) - np.int32(p["z_in"])          # [N,H,W,C], q - z_x
    if p["mult"] > 1:
        x = np.repeat(x, p["mult"], axis=3)                        # [N,H,W,C*M]: channel oc reads oc // M
    views = padded_windows(x, p["kernel"], p["stride"], p["dilation"], p["out_hw"], p["pad"])
    acc = np.zeros(views[0].shape, np.int32)
    for view, tap in zip(views, p["taps"]):
        acc += view * tap                                          # int32, wraps like TFLite
    acc += p["bias"]
    acc = multiply_by_quantized_multiplier(acc, p["m0"], p["shift"]).astype(np.int64) + p["z_out"]
    return [clamp_cast(acc, p["lo"], p["hi"], p["dtype"])]


KERNELS = {"DEPTHWISE_CONV_2D": Kernel(prepare, run)}
