"""Reference FULLY_CONNECTED, uint8 and int8 (per-tensor or per-channel weights). Imports: numpy, intq.ir, intq.scheme.

The input is flattened to [batches, accum_depth] (accum_depth = weights.shape[-1]); weights are
[out_units, accum_depth] (paper eq. 7 as a matrix product):

    acc[b,o] = sum_d (q_w[o,d] - z_w) * (q_x[b,d] - z_x) + bias[o]        (int32, wraps)
    q_out = clamp(MBQM(acc, M0[o], shift[o]) + z_out, act_min, act_max)

Multiplier (fully_connected.cc Prepare): per-tensor weights (uint8 or int8) use
``GetQuantizedConvolutionMultipler``, i.e. ``(double)(float)(s_in*s_w) / s_out``; per-channel int8
weights use ``(double)s_in*s_w[o]/s_out`` and no weight offset (they must be symmetric).

**Oracle note.** Since LiteRT commit 9213607 (2025-04) the *reference* uint8 kernel
(``reference_ops::FullyConnected`` with float scales) requantizes in double:
``round((double)acc * ((double)s_in*s_w/s_out)) + z_out``. That is not integer-only; intq keeps the
fixed-point MBQM path above (what TFLite's int8 kernels, its optimized uint8 kernel, TFLM and the paper
do). The wheel ai-edge-litert 2.3.0 runs the float path for uint8 *and* int8 (per-tensor and per-channel):
a float emulation matched it on all of 491,520 random elements. intq then differs by 1 LSB on about
2^-(right_shift + 1) of the unclamped outputs (right_shift = -shift of the multiplier), the cases where
MBQM's double rounding (SRDHM, then a rounding right shift) lands on a tie the exact product does not
reach; measured 4.7e-4 (uint8) and 2.7e-4 (int8) against a predicted 4.6e-4 and 2.7e-4. No |acc| bound
makes the two provably equal. Single-rounding MBQM (``rounding="single"``) with the double-product
multiplier agreed with the float path on 32M sampled accumulators; the kernel contract has no rounding
switch, so it is not used here.
"""
from __future__ import annotations

import numpy as np

from intq.errors import InputError
from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import (activation_range, clamp_cast, conv_output_multipliers, node_where,
                                           per_tensor, require)
from intq.runtime.reference.conv import bias_vector
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier


def prepare(graph: Graph, node: Node) -> dict:
    """Packed int32 weights minus zero point [accum_depth, out_units], multipliers, clamp range."""
    require(len(node.inputs) in (2, 3) and len(node.outputs) == 1,
            "FULLY_CONNECTED takes (input, weights, bias?) and one output", graph, node)
    x, w, out = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    require(x.dtype in ("uint8", "int8") and out.dtype == x.dtype,
            f"FULLY_CONNECTED supports uint8 or int8 in and out of one dtype, got {x.dtype} -> {out.dtype}",
            graph, node, x.name)
    require(w.dtype == x.dtype, f"weights must be {x.dtype}, got {w.dtype}", graph, node, w.name)
    require(w.is_constant and len(w.shape) == 2, f"weights must be a constant [out, in] matrix, got {list(w.shape)}",
            graph, node, w.name)
    require(w.quant is not None, "weights need quantization parameters", graph, node, w.name)
    out_units, depth = w.shape
    require(depth > 0 and int(np.prod(x.shape[1:])) * max(x.shape[0], 1) % depth == 0,
            f"input {list(x.shape)} does not flatten to rows of {depth}", graph, node, x.name)
    require(out.shape[-1] == out_units, f"output {list(out.shape)} should end in {out_units}", graph, node, out.name)
    if node.options.keep_num_dims:
        require(x.shape[-1] == depth, f"keep_num_dims needs the input's last dim to be {depth}", graph, node, x.name)
    if len(node.inputs) == 3 and node.inputs[2] is not None:
        require(graph.tensor(node.inputs[2]).dtype == "int32", "bias must be int32", graph, node, node.inputs[2])
    per_channel = w.quant.per_channel
    if per_channel:
        require(bool(np.all(w.quant.zero_point == 0)), "per-channel weights must be symmetric (zero point 0)",
                graph, node, w.name)
    z_w = 0 if per_channel else int(w.quant.zero_point[0])
    _, z_in = per_tensor(graph, node, x.name)
    s_out, z_out = per_tensor(graph, node, out.name)
    m0, shift = conv_output_multipliers(graph, node, weight_axis=0, float32_product=not per_channel)
    lo, hi = activation_range(node.options.activation, s_out, z_out, out.dtype, graph=graph, node=node)
    packed = (w.data.astype(np.int32) - z_w).T.copy()                     # [accum_depth, out_units]
    return dict(packed=packed, depth=depth, z_in=z_in, z_out=z_out, bias=bias_vector(graph, node, out_units),
                m0=m0, shift=shift, lo=lo, hi=hi, dtype=out.dtype, keep_num_dims=node.options.keep_num_dims,
                where=node_where(graph, node))


def check_rows(p: dict, x: np.ndarray) -> None:
    """InputError naming the node when ``x`` (another batch or length than the graph's) is not whole rows of
    the weights' depth."""
    if x.size % p["depth"]:
        raise InputError(f"node {p['where']!r}: FULLY_CONNECTED input of shape {list(x.shape)} is not whole rows "
                         f"of its depth {p['depth']}")


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x uint8|int8[..., ] -> [batches, out] (or x.shape[:-1] + [out] with keep_num_dims)."""
    x = inputs[0]
    check_rows(p, x)
    rows = x.astype(np.int32).reshape(-1, p["depth"]) - np.int32(p["z_in"])   # [batches, accum_depth]
    acc = rows @ p["packed"] + p["bias"]                                        # int32 [batches, out], wraps
    acc = multiply_by_quantized_multiplier(acc, p["m0"], p["shift"]).astype(np.int64) + p["z_out"]
    y = clamp_cast(acc, p["lo"], p["hi"], p["dtype"])
    if p["keep_num_dims"]:
        y = y.reshape(x.shape[:-1] + (-1,))
    return [y]


KERNELS = {"FULLY_CONNECTED": Kernel(prepare, run)}
