"""Helpers shared by the reference kernels. Imports: numpy, intq.errors, intq.ir, intq.scheme.

What is here, all done at prepare time unless noted:

* :func:`node_where` -- the ``"name (#index)"`` label errors use.
* :func:`dtype_range` -- (qmin, qmax) of uint8 / int8 / int16 / int32.
* :func:`activation_range` -- TFLite's ``CalculateActivationRangeQuantized`` (fused RELU/RELU6/RELU_N1_TO_1 clamp).
* :func:`compute_padding` -- TFLite's SAME/VALID geometry (``padding.h``): output size and leading pad.
* :func:`clamp_cast` -- run time: clamp an int array to [lo, hi] and cast it to the output dtype.
* :func:`require`, :func:`per_tensor` -- checks raising ``IRError`` that names the node and tensor.
"""
from __future__ import annotations

import numpy as np

from intq.errors import IRError
from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.scheme import requant

_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-32768, 32767),
           "int32": (-(1 << 31), (1 << 31) - 1)}


def node_where(graph: Graph, node: Node) -> str:
    """The node's label for error messages: ``"name (#i)"`` with i its position in ``graph.nodes``."""
    for i, n in enumerate(graph.nodes):
        if n is node:
            return f"{node.name} (#{i})"
    return node.name


def require(ok: bool, message: str, graph: Graph, node: Node, tensor: str | None = None) -> None:
    """Raise ``IRError(message)`` naming ``node`` (and ``tensor``) unless ``ok``."""
    if not ok:
        raise IRError(message, node=node_where(graph, node), tensor=tensor)


#: the largest left shift of a requantization multiplier above one: x * 2^shift wraps in int32 as TFLite's
#: ``x * (1 << left_shift)`` does in practice; from 32 on, C (and TFLite) have no defined result at all
MAX_LEFT_SHIFT = 31


def require_left_shift(shift, real: str, graph: Graph, node: Node, tensor: str | None = None) -> None:
    """IRError naming ``node`` when a multiplier's left ``shift`` (one or per channel) exceeds MAX_LEFT_SHIFT:
    ``real`` describes the multiplier (S_in * S_w / S_out ...), whose scales are then absurdly far apart."""
    worst = int(np.max(shift))
    require(worst <= MAX_LEFT_SHIFT, f"the requantization multiplier {real} needs a left shift of {worst} bits, "
            f"beyond int32 (no defined result in TFLite's MultiplyByQuantizedMultiplier): the scales are far "
            f"too large for the output's", graph, node, tensor)


def dtype_range(dtype: str) -> tuple[int, int]:
    """(qmin, qmax) of an integer dtype name ('uint8', 'int8', 'int16', 'int32')."""
    return _RANGES[str(dtype)]


def per_tensor(graph: Graph, node: Node, name: str) -> tuple[float, int]:
    """(scale, zero_point) of a per-tensor quantized tensor; IRError if it has none or is per-channel."""
    t = graph.tensor(name)
    require(t.quant is not None, f"{node.op} needs a quantized tensor", graph, node, name)
    require(not t.quant.per_channel, f"{node.op} needs per-tensor quantization here", graph, node, name)
    return t.quant.single_scale, t.quant.single_zero_point


def activation_range(activation: str, scale: float, zero_point: int, dtype: str,
                     graph: Graph | None = None, node: Node | None = None) -> tuple[int, int]:
    """Fused activation clamp [act_min, act_max] in output codes: ``CalculateActivationRangeQuantized``.

    intq.scheme.requant.activation_range over the dtype's range (NONE gives the full range). Like LiteRT's
    Prepare, refuses (IRError naming ``node`` and its output) an output scale so small that a bound's code
    round(f / scale) does not fit int32 (``no_integer_overflow_from_quantization``,
    intq.scheme.requant.activation_bound_overflow): LiteRT will not run such a graph, so intq does not either.
    """
    bad = requant.activation_bound_overflow(activation, scale)
    if bad is not None:
        raise IRError(f"fused {activation}: output scale {scale:.6g} is too small, the bound {bad:g} / scale "
                      "does not fit int32 (LiteRT's Prepare refuses it: no_integer_overflow_from_quantization)",
                      node=None if node is None or graph is None else node_where(graph, node),
                      tensor=None if node is None else node.outputs[0])
    qmin, qmax = dtype_range(dtype)
    return requant.activation_range(activation, scale, zero_point, qmin, qmax)


def compute_padding(padding: str, in_size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(out_size, pad_before) for one spatial dim: TFLite ``ComputeOutSize`` + ``ComputePaddingWithOffset``.

    SAME: out = ceil(in / stride); VALID: out = (in + stride - eff_k) // stride with eff_k = (k-1)*d + 1.
    total = max(0, (out-1)*stride + eff_k - in); pad_before = total // 2 (an odd pixel goes after).
    """
    eff_k = (kernel - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size + stride - eff_k) // stride
    else:
        raise ValueError(f"padding must be SAME or VALID, got {padding!r}")
    total = max(0, (out - 1) * stride + eff_k - in_size)
    return out, total // 2


def conv_geometry(graph: Graph, node: Node, kernel: tuple[int, int], c_out: int) -> tuple[int, int, int, int]:
    """Output size and padding (oh, pad_h, ow, pad_w) of a CONV_2D / DEPTHWISE_CONV_2D node, checked against
    its output tensor (TFLite ComputePaddingHeightWidth); errors name the node and tensor."""
    o = node.options
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    _, h, wd, _ = x.shape
    kh, kw = kernel
    require(min(o.stride_h, o.stride_w, o.dilation_h, o.dilation_w) >= 1, "strides and dilations must be >= 1",
            graph, node)
    oh, ph = compute_padding(o.padding, h, kh, o.stride_h, o.dilation_h)
    ow, pw = compute_padding(o.padding, wd, kw, o.stride_w, o.dilation_w)
    require(oh > 0 and ow > 0, f"filter {kh}x{kw} does not fit input {h}x{wd} with {o.padding}", graph, node, x.name)
    require(tuple(out.shape[1:]) == (oh, ow, c_out),
            f"output shape {list(out.shape)} should be [N, {oh}, {ow}, {c_out}]", graph, node, out.name)
    return oh, ph, ow, pw


def clamp_cast(acc: np.ndarray, lo: int, hi: int, dtype: str) -> np.ndarray:
    """Run time: ``min(max(acc, lo), hi)`` cast to ``dtype`` (TFLite's ActivationFunctionWithMinMax + cast)."""
    return np.clip(acc, lo, hi).astype(dtype)


def conv_output_multipliers(graph: Graph, node: Node, weight_axis: int,
                            float32_product: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (M0, shift) int64 arrays for CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED.

    uint8 input (TFLite's legacy per-tensor path, ``GetQuantizedConvolutionMultipler``): the product
    s_in*s_w is taken in **float32**, then ``(double)(float)(s_in*s_w) / (double)s_out`` (notes A.5).
    int8 input (``PopulateConvolutionQuantizationParams``): ``(double)s_in * (double)s_w[c] / (double)s_out``
    per channel, a single weight scale broadcast over the channels. ``shift`` is a left shift (eq. 5-6).
    ``float32_product`` overrides the choice (FULLY_CONNECTED uses the float32 product for every
    per-tensor weight, int8 included).
    """
    x, w, out = (graph.tensor(n) for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
    s_in, _ = per_tensor(graph, node, x.name)
    s_out, _ = per_tensor(graph, node, out.name)
    require(w.quant is not None, f"{node.op} weights need quantization parameters", graph, node, w.name)
    channels = w.shape[weight_axis]
    scales = w.quant.scale
    if w.quant.per_channel:
        require(x.dtype != "uint8", "per-channel weights need int8 activations (TFLite)", graph, node, w.name)
        require(w.quant.axis % len(w.shape) == weight_axis % len(w.shape) and scales.size == channels,
                f"per-channel weight scales must lie along axis {weight_axis}", graph, node, w.name)
    if float32_product is None:
        float32_product = x.dtype == "uint8"
    m0, shift = requant.conv_multipliers(s_in, scales, s_out, channels, float32_product)
    require_left_shift(shift, f"S_in * S_w / S_out = {s_in:.6g} * {float(np.max(scales)):.6g} / {s_out:.6g}",
                       graph, node, w.name)
    return m0, shift


def padded_windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
                   out_hw: tuple[int, int], pad: tuple[int, int], fill=0) -> list[np.ndarray]:
    """Run time: the kh*kw shifted views ``x[:, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw, :]``, row-major in (ky, kx).

    ``x``: [N, H, W, C]. Positions outside the image read ``fill`` (0 after subtracting the input zero
    point, which is what TFLite's "skip padded taps" amounts to). Each view is [N, out_h, out_w, C].
    """
    (kh, kw), (sh, sw), (dh, dw), (oh, ow), (ph, pw) = kernel, stride, dilation, out_hw, pad
    n, h, w, c = x.shape
    need_h, need_w = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    xp = np.full((n, max(need_h, ph + h), max(need_w, pw + w), c), fill, dtype=x.dtype)
    xp[:, ph:ph + h, pw:pw + w, :] = x
    return [xp[:, ky * dh: ky * dh + (oh - 1) * sh + 1: sh, kx * dw: kx * dw + (ow - 1) * sw + 1: sw, :]
            for ky in range(kh) for kx in range(kw)]


def check_broadcast(graph: Graph, node: Node) -> None:
    """Two inputs whose shapes broadcast (NumPy rules = TFLite's BroadcastBinaryFunction6DSlow) to the output."""
    a, b, out = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        shape = None
    require(shape is not None, f"{node.op} input shapes {list(a.shape)} and {list(b.shape)} do not broadcast",
            graph, node, b.name)
    require(len(shape) <= 6, f"{node.op} broadcasts up to 6 dims, got {len(shape)}", graph, node, out.name)
    require(tuple(shape[1:]) == tuple(out.shape[1:]) and len(shape) == len(out.shape),
            f"{node.op} output {list(out.shape)} should be {list(shape)}", graph, node, out.name)


def check_binary_dtypes(graph: Graph, node: Node) -> str:
    """ADD/MUL: two inputs and one output, all uint8 or all int8; returns the dtype."""
    require(len(node.inputs) == 2 and len(node.outputs) == 1 and None not in node.inputs,
            f"{node.op} takes two inputs and one output", graph, node)
    dtypes = [graph.tensor(n).dtype for n in (*node.inputs, node.outputs[0])]
    require(dtypes[0] in ("uint8", "int8") and len(set(dtypes)) == 1,
            f"{node.op} supports uint8 or int8 inputs and output of one dtype, got {dtypes}", graph, node)
    return dtypes[0]


def binary_operands(graph: Graph, node: Node):
    """ADD/MUL prepare preamble: checked dtypes and broadcasting, then the per-tensor (scale, zero point) of
    both inputs and the output. Returns (dtype, (s1, z1), (s2, z2), (s_out, z_out))."""
    dtype = check_binary_dtypes(graph, node)
    check_broadcast(graph, node)
    return (dtype, per_tensor(graph, node, node.inputs[0]), per_tensor(graph, node, node.inputs[1]),
            per_tensor(graph, node, node.outputs[0]))
