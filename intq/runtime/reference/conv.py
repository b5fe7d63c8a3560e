"""Reference CONV_2D, uint8 per-tensor and int8 per-channel, bit-exact with LiteRT. Imports: numpy, intq.ir, intq.scheme.

TFLite ``reference_ops::Conv`` (uint8) and ``reference_integer_ops::ConvPerChannel`` (int8), paper eq. 7-8:

    acc[b,oy,ox,oc] = sum_{ky,kx,ic} (q_w[oc,ky,kx,ic] - z_w) * (q_x[b,iy,ix,g*Cg+ic] - z_x)   (int32, wraps)
    acc += bias[oc];   q_out = clamp(MBQM(acc, M0[oc], shift[oc]) + z_out, act_min, act_max)

with iy = oy*sh - pad_h + ky*dh (taps outside the image skipped). int8 weights are symmetric: TFLite's
int8 kernel has no weight offset, so a non-zero int8 weight zero point is refused. Vectorised as gathering
the kh*kw shifted views (im2col) and one int32 matmul per group; int32 sums wrap exactly as TFLite's
accumulator does, so the order of summation does not matter (checked against LiteRT with a
40000-deep accumulation that wraps). An absent bias means zeros; note LiteRT's CONV_2D Prepare refuses a
missing bias, so an exporter must write a zero int32 bias there.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import (activation_range, clamp_cast, conv_geometry, conv_output_multipliers,
                                           padded_windows, per_tensor, require)
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier


def check_conv_operands(graph: Graph, node: Node, n_inputs: int = 3) -> None:
    """Shared CONV/DEPTHWISE input checks: 4-D input, 4-D constant filter, matching quantized dtypes, int32 bias."""
    require(len(node.inputs) in (2, 3) and len(node.outputs) == 1,
            f"{node.op} takes (input, filter, bias?) and one output", graph, node)
    x, w, out = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    require(x.dtype in ("uint8", "int8") and out.dtype == x.dtype,
            f"{node.op} supports uint8 or int8 input and output of the same dtype, got {x.dtype} -> {out.dtype}",
            graph, node, x.name)
    want_w = "uint8" if x.dtype == "uint8" else "int8"
    require(w.dtype == want_w, f"{node.op} with {x.dtype} input needs {want_w} weights, got {w.dtype}",
            graph, node, w.name)
    require(w.is_constant, f"{node.op} weights must be constant", graph, node, w.name)
    require(len(x.shape) == 4, f"{node.op} input must be 4-D NHWC, got {list(x.shape)}", graph, node, x.name)
    require(len(w.shape) == 4, f"{node.op} filter must be 4-D, got {list(w.shape)}", graph, node, w.name)
    require(len(out.shape) == 4, f"{node.op} output must be 4-D NHWC", graph, node, out.name)
    if w.dtype == "int8":
        require(w.quant is not None and np.all(w.quant.zero_point == 0),
                "int8 weights must be symmetric (zero point 0)", graph, node, w.name)
    if len(node.inputs) == 3 and node.inputs[2] is not None:
        b = graph.tensor(node.inputs[2])
        require(b.dtype == "int32" and b.is_constant, f"bias must be a constant int32 tensor, got {b.dtype}",
                graph, node, b.name)


def bias_vector(graph: Graph, node: Node, channels: int) -> np.ndarray:
    """The bias as int32[channels] (zeros when absent)."""
    if len(node.inputs) < 3 or node.inputs[2] is None:
        return np.zeros(channels, np.int32)
    b = graph.tensor(node.inputs[2])
    require(b.data.size == channels, f"bias has {b.data.size} values, expected {channels}", graph, node, b.name)
    return b.data.reshape(channels).astype(np.int32)


def prepare(graph: Graph, node: Node) -> dict:
    """Geometry, packed int32 weights (minus zero point) per group, multipliers and clamp (TFLite conv Prepare)."""
    check_conv_operands(graph, node)
    o = node.options
    x, w, out = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    c_in = x.shape[3]
    c_out, kh, kw, cg = w.shape
    require(cg > 0 and c_in % cg == 0, f"input depth {c_in} is not a multiple of filter depth {cg}", graph, node, w.name)
    groups = c_in // cg
    require(c_out % groups == 0, f"{c_out} output channels do not split into {groups} groups", graph, node, w.name)
    oh, ph, ow, pw = conv_geometry(graph, node, (kh, kw), c_out)
    _, z_in = per_tensor(graph, node, x.name)
    s_out, z_out = per_tensor(graph, node, out.name)
    z_w = int(w.quant.zero_point[0]) if w.dtype == "uint8" else 0
    m0, shift = conv_output_multipliers(graph, node, weight_axis=0)
    og = c_out // groups
    # packed[g]: [kh*kw*cg, og], rows ordered (ky, kx, ic) like the patch columns below
    wq = (w.data.astype(np.int32) - z_w).reshape(groups, og, kh * kw, cg)
    packed = [wq[g].reshape(og, kh * kw * cg).T.copy() for g in range(groups)]
    lo, hi = activation_range(o.activation, s_out, z_out, out.dtype, graph=graph, node=node)
    return dict(kernel=(kh, kw), stride=(o.stride_h, o.stride_w), dilation=(o.dilation_h, o.dilation_w),
                out_hw=(oh, ow), pad=(ph, pw), groups=groups, cg=cg, packed=packed, z_in=z_in, z_out=z_out,
                bias=bias_vector(graph, node, c_out), m0=m0, shift=shift, lo=lo, hi=hi, dtype=out.dtype)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """Integer-only CONV_2D: x uint8|int8[N,H,W,C] -> same dtype [N,out_h,out_w,C_out]."""
    x = inputs[0].astype(np.int32) - np.int32(p["z_in"])          # [N,H,W,C], q - z_x
    views = padded_windows(x, p["kernel"], p["stride"], p["dilation"], p["out_hw"], p["pad"])
    n, (oh, ow), cg = x.shape[0], p["out_hw"], p["cg"]
    accs = []
    for g, wg in enumerate(p["packed"]):
        cols = np.stack([v[..., g * cg:(g + 1) * cg] for v in views], axis=3)   # [N,oh,ow,kh*kw,cg]
        accs.append(cols.reshape(n * oh * ow, -1) @ wg)                          # int32, wraps like TFLite
    acc = np.concatenate(accs, axis=1) + p["bias"]                               # [N*oh*ow, C_out]
    acc = multiply_by_quantized_multiplier(acc, p["m0"], p["shift"]).astype(np.int64) + p["z_out"]
    return [clamp_cast(acc, p["lo"], p["hi"], p["dtype"]).reshape(n, oh, ow, -1)]


KERNELS = {"CONV_2D": Kernel(prepare, run)}
