"""One-op graph cases for every op in intq.ir.OP_OPTIONS: hypothesis strategies of (Graph, inputs).

``op_case(op, dtype)`` draws a valid one-op graph within what TFLite's reference kernels accept, with
``dtype`` (uint8 | int8) activations: uint8 uses per-tensor asymmetric weights, int8 symmetric
per-channel int8 weights and per-channel int32 biases. Building blocks live in tests/strategies.py.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from intq.ir import Quantization
from strategies import (ACTIVATIONS, RANGES, Case, conv_out, nhwc, out_scale_for, qparams, random_q, rng,
                        shape_and_axis, weights, window)

# --- one-op graph cases ---------------------------------------------------------------------------------
@st.composite
def conv_case(draw, dtype: str):
    r = rng(draw)
    n, h, w, cin = draw(nhwc())
    cout = draw(st.integers(1, 6))
    kh, kw, sh, sw, dh, dw, padding = draw(window(h, w))
    xq = draw(qparams(dtype))
    filt, wq, bq = draw(weights(r, (cout, kh, kw, cin), dtype, 0, xq.single_scale))
    yq = Quantization.per_tensor(out_scale_for(draw, xq.single_scale, wq.scale, kh * kw * cin),
                                 draw(st.integers(*RANGES[dtype])))
    c = Case()
    x = c.input("x", random_q(r, (n, h, w, cin), dtype), xq)
    bias = c.const("b", random_q(r, (cout,), "int32"), bq)        # LiteRT requires a quantized conv bias
    c.const("w", filt, wq)
    y = c.output("y", (n, conv_out(h, kh, sh, dh, padding), conv_out(w, kw, sw, dw, padding), cout), dtype, yq)
    return c.node("CONV_2D", [x, "w", bias], [y], padding=padding, stride_h=sh, stride_w=sw, dilation_h=dh,
                  dilation_w=dw, activation=draw(st.sampled_from(ACTIVATIONS))).result()


@st.composite
def depthwise_case(draw, dtype: str):
    r = rng(draw)
    n, h, w, cin = draw(nhwc(max_c=4))
    m = draw(st.integers(1, 3))
    kh, kw, sh, sw, dh, dw, padding = draw(window(h, w))
    xq = draw(qparams(dtype))
    filt, wq, bq = draw(weights(r, (1, kh, kw, cin * m), dtype, 3, xq.single_scale))
    yq = Quantization.per_tensor(out_scale_for(draw, xq.single_scale, wq.scale, kh * kw),
                                 draw(st.integers(*RANGES[dtype])))
    c = Case()
    x = c.input("x", random_q(r, (n, h, w, cin), dtype), xq)
    bias = c.const("b", random_q(r, (cin * m,), "int32"), bq)
    c.const("w", filt, wq)
    y = c.output("y", (n, conv_out(h, kh, sh, dh, padding), conv_out(w, kw, sw, dw, padding), cin * m), dtype, yq)
    return c.node("DEPTHWISE_CONV_2D", [x, "w", bias], [y], padding=padding, stride_h=sh, stride_w=sw,
                  dilation_h=dh, dilation_w=dw, depth_multiplier=m,
                  activation=draw(st.sampled_from(ACTIVATIONS))).result()


@st.composite
def fully_connected_case(draw, dtype: str, per_channel: bool = False):
    r = rng(draw)
    lead = draw(st.sampled_from([(1,), (2,), (3,), (2, 3)]))
    k, units = draw(st.integers(1, 24)), draw(st.integers(1, 8))
    keep = len(lead) > 1 and draw(st.booleans())
    xq = draw(qparams(dtype))
    filt, wq, bq = draw(weights(r, (units, k), dtype, 0, xq.single_scale))
    if dtype == "int8" and not per_channel:      # one scale for all rows
        wq = Quantization.per_tensor(float(wq.scale[0]), 0)
        bq = Quantization.per_tensor(float(np.float32(xq.single_scale) * wq.scale[0]), 0)
    yq = Quantization.per_tensor(out_scale_for(draw, xq.single_scale, wq.scale, k), draw(st.integers(*RANGES[dtype])))
    c = Case()
    x = c.input("x", random_q(r, lead + (k,), dtype), xq)
    bias = c.const("b", random_q(r, (units,), "int32"), bq) if draw(st.booleans()) else None
    c.const("w", filt, wq)
    out_shape = lead + (units,) if keep else (int(np.prod(lead)), units)
    y = c.output("y", out_shape, dtype, yq)
    return c.node("FULLY_CONNECTED", [x, "w", bias], [y], keep_num_dims=keep,
                  activation=draw(st.sampled_from(ACTIVATIONS))).result()


@st.composite
def broadcast_shapes(draw) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Two shapes of rank 1..4 that broadcast (NumPy rules), and their broadcast shape."""
    rank = draw(st.integers(1, 4))
    full = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    a = tuple(d if draw(st.integers(0, 3)) else 1 for d in full)
    b = tuple(d if draw(st.integers(0, 3)) else 1 for d in full)
    b = b[draw(st.integers(0, rank - 1)):] if draw(st.booleans()) else b      # lower rank operand
    return a, b, np.broadcast_shapes(a, b)


@st.composite
def binary_case(draw, dtype: str, op: str):
    r = rng(draw)
    a_shape, b_shape, y_shape = draw(broadcast_shapes())
    c = Case()
    a = c.input("a", random_q(r, a_shape, dtype), draw(qparams(dtype)))
    if draw(st.booleans()):
        b = c.input("b", random_q(r, b_shape, dtype), draw(qparams(dtype)))
    else:                                          # constant second operand
        b = c.const("b", random_q(r, b_shape, dtype), draw(qparams(dtype)))
    y = c.output("y", y_shape, dtype, draw(qparams(dtype, 1e-3, 2.0)))
    return c.node(op, [a, b], [y], activation=draw(st.sampled_from(ACTIVATIONS))).result()


@st.composite
def concatenation_case(draw, dtype: str):
    r = rng(draw)
    base, axis = shape_and_axis(draw, 4)
    k = draw(st.integers(1, 3))
    same = dtype == "int8" or draw(st.booleans())     # TFLite int8 CONCATENATION requires equal qparams
    yq = draw(qparams(dtype))
    c = Case()
    names = []
    for i in range(k):
        shape = list(base)
        shape[axis] = draw(st.integers(1, 3))
        names.append(c.input(f"x{i}", random_q(r, tuple(shape), dtype), yq if same else draw(qparams(dtype))))
    out = list(base)
    out[axis] = sum(x.shape[axis] for x in c.inputs)
    y = c.output("y", tuple(out), dtype, yq)
    return c.node("CONCATENATION", names, [y], axis=axis).result()    # quantized: no fused activation


@st.composite
def split_case(draw, dtype: str):
    r = rng(draw)
    shape, axis = shape_and_axis(draw, 4)
    k = draw(st.integers(1, 3))
    shape[axis] *= k
    xq = draw(qparams(dtype))
    c = Case()
    axis_t = c.const("axis", np.array(axis, np.int32) if draw(st.booleans()) else np.array([axis], np.int32))
    x = c.input("x", random_q(r, tuple(shape), dtype), xq)
    out = list(shape)
    out[axis] //= k
    ys = [c.output(f"y{i}", tuple(out), dtype, xq) for i in range(k)]
    return c.node("SPLIT", [axis_t, x], ys, num_splits=k).result()


@st.composite
def pool_case(draw, dtype: str, op: str):
    r = rng(draw)
    n, h, w, ch = draw(nhwc(max_hw=8))
    kh, kw, sh, sw, _, _, padding = draw(window(h, w, max_k=4, dilate=False))
    xq = draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, (n, h, w, ch), dtype), xq)
    y = c.output("y", (n, conv_out(h, kh, sh, 1, padding), conv_out(w, kw, sw, 1, padding), ch), dtype, xq)
    return c.node(op, [x], [y], padding=padding, stride_h=sh, stride_w=sw, filter_h=kh, filter_w=kw,
                  activation=draw(st.sampled_from(ACTIVATIONS))).result()


@st.composite
def mean_case(draw, dtype: str):
    r = rng(draw)
    shape = draw(nhwc(max_hw=6))
    if draw(st.integers(0, 2)):                    # the common case (global average pooling)
        axes = [1, 2]
    else:
        axes = sorted(draw(st.sets(st.integers(0, 3), min_size=1, max_size=4)))
    keep = draw(st.booleans())
    xq = draw(qparams(dtype))
    yq = xq if draw(st.booleans()) else draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), xq)
    ax = c.const("axes", np.array(axes, np.int32))
    out = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keep else \
        tuple(d for i, d in enumerate(shape) if i not in axes)
    y = c.output("y", out, dtype, yq)
    return c.node("MEAN", [x, ax], [y], keep_dims=keep).result()


@st.composite
def reshape_case(draw, dtype: str):
    r = rng(draw)
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    size = int(np.prod(shape))
    out = list(np.random.default_rng(draw(st.integers(0, 99))).permutation([size] + [1] * draw(st.integers(0, 2))))
    if size % 2 == 0 and draw(st.booleans()):
        out = [2, size // 2] + [1] * (len(out) - 2)
    spec = list(out)
    if draw(st.booleans()):
        spec[draw(st.integers(0, len(spec) - 1))] = -1
    xq = draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), xq)
    y = c.output("y", tuple(int(d) for d in out), dtype, xq)
    how = draw(st.sampled_from(["tensor", "options", "both"]))
    shape_t = c.const("shape", np.array(spec, np.int32)) if how != "options" else None
    new_shape = tuple(int(d) for d in spec) if how != "tensor" else None
    inputs = [x, shape_t] if shape_t is not None else [x]
    return c.node("RESHAPE", inputs, [y], new_shape=new_shape).result()


@st.composite
def squeeze_case(draw, dtype: str):
    r = rng(draw)
    shape = tuple(draw(st.lists(st.sampled_from([1, 1, 2, 3]), min_size=1, max_size=4)))
    ones = [i for i, d in enumerate(shape) if d == 1]
    dims = tuple(sorted(draw(st.sets(st.sampled_from(ones)))) if ones else ()) if draw(st.booleans()) else ()
    out = tuple(d for i, d in enumerate(shape) if (i not in dims if dims else d != 1))
    xq = draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), xq)
    y = c.output("y", out, dtype, xq)
    return c.node("SQUEEZE", [x], [y], squeeze_dims=dims).result()


@st.composite
def pad_case(draw, dtype: str):
    r = rng(draw)
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    pads = np.array([[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in shape], np.int32)
    xq = draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), xq)
    p = c.const("paddings", pads)
    y = c.output("y", tuple(int(d + a + b) for d, (a, b) in zip(shape, pads)), dtype, xq)
    return c.node("PAD", [x, p], [y]).result()


# fixed output quantization TFLite requires: (scale, uint8 zp, int8 zp)
FIXED_OUTPUT = {"SOFTMAX": (1 / 256, 0, -128), "LOGISTIC": (1 / 256, 0, -128), "TANH": (1 / 128, 128, 0)}


@st.composite
def fixed_output_case(draw, dtype: str, op: str):
    r = rng(draw)
    shape = draw(st.sampled_from([(1, 5), (2, 7), (1, 2, 3, 4), (3, 1), (2, 16)]))
    xq = draw(qparams(dtype, 1e-3, 0.5))
    scale, zu, zi = FIXED_OUTPUT[op]
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), xq)
    y = c.output("y", shape, dtype, Quantization.per_tensor(scale, zu if dtype == "uint8" else zi))
    options = {"beta": draw(st.sampled_from([1.0, 0.5, 2.0, 0.1]))} if op == "SOFTMAX" else {}
    return c.node(op, [x], [y], **options).result()


@st.composite
def relu_case(draw, dtype: str, op: str):
    r = rng(draw)
    shape = draw(nhwc(max_hw=4))
    xq = draw(qparams(dtype))
    yq = xq if draw(st.booleans()) else draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), xq)
    y = c.output("y", shape, dtype, yq)
    return c.node(op, [x], [y]).result()


@st.composite
def resize_bilinear_case(draw, dtype: str):
    r = rng(draw)
    n, h, w, ch = draw(nhwc(max_hw=5))
    oh, ow = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    mode = draw(st.sampled_from(["none", "align", "half"]))
    xq = draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, (n, h, w, ch), dtype), xq)
    size = c.const("size", np.array([oh, ow], np.int32))
    y = c.output("y", (n, oh, ow, ch), dtype, xq)
    return c.node("RESIZE_BILINEAR", [x, size], [y], align_corners=mode == "align",
                  half_pixel_centers=mode == "half").result()


@st.composite
def arg_max_case(draw, dtype: str):
    r = rng(draw)
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    out_type = draw(st.sampled_from(["int32", "int64"]))
    x_data = random_q(r, shape, dtype)
    if draw(st.booleans()):                        # many ties: TFLite returns the first maximum
        x_data = (x_data // 64 * 64).astype(dtype)
    c = Case()
    x = c.input("x", x_data, draw(qparams(dtype)))
    ax = c.const("axis", np.array([axis], np.int32))
    y = c.output("y", tuple(d for i, d in enumerate(shape) if i != axis % len(shape)), out_type, None)
    return c.node("ARG_MAX", [x, ax], [y], output_type=out_type).result()


@st.composite
def transpose_case(draw, dtype: str):
    r = rng(draw)
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    perm = draw(st.permutations(list(range(len(shape)))))
    xq = draw(qparams(dtype))
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), xq)
    p = c.const("perm", np.array(perm, np.int32))
    y = c.output("y", tuple(shape[i] for i in perm), dtype, xq)
    return c.node("TRANSPOSE", [x, p], [y]).result()


@st.composite
def quantize_case(draw, dtype: str):
    r = rng(draw)
    shape = draw(nhwc(max_hw=4))
    other = "int8" if dtype == "uint8" else "uint8"
    src = draw(st.sampled_from(["float32", dtype, other]))
    yq = draw(qparams(dtype))
    x_data = random_q(r, shape, src)
    if src == "float32" and draw(st.booleans()):      # exact ties k + 1/2 (power-of-two scale): half away from 0
        yq = Quantization.per_tensor(2.0 ** -draw(st.integers(0, 8)), yq.single_zero_point)
        x_data = ((r.integers(-200, 200, size=shape) + 0.5) * yq.single_scale).astype(np.float32)
    c = Case()
    x = c.input("x", x_data, None if src == "float32" else draw(qparams(src)))
    y = c.output("y", shape, dtype, yq)
    return c.node("QUANTIZE", [x], [y]).result()


@st.composite
def dequantize_case(draw, dtype: str):
    r = rng(draw)
    shape = draw(nhwc(max_hw=4))
    c = Case()
    x = c.input("x", random_q(r, shape, dtype), draw(qparams(dtype)))
    y = c.output("y", shape, "float32", None)
    return c.node("DEQUANTIZE", [x], [y]).result()


def op_case(op: str, dtype: str) -> st.SearchStrategy:
    """A strategy of (graph, inputs) for a one-op graph of ``op`` with ``dtype`` (uint8 | int8) activations."""
    table = {
        "CONV_2D": lambda: conv_case(dtype), "DEPTHWISE_CONV_2D": lambda: depthwise_case(dtype),
        "FULLY_CONNECTED": lambda: fully_connected_case(dtype), "ADD": lambda: binary_case(dtype, "ADD"),
        "MUL": lambda: binary_case(dtype, "MUL"), "CONCATENATION": lambda: concatenation_case(dtype),
        "SPLIT": lambda: split_case(dtype), "AVERAGE_POOL_2D": lambda: pool_case(dtype, "AVERAGE_POOL_2D"),
        "MAX_POOL_2D": lambda: pool_case(dtype, "MAX_POOL_2D"), "MEAN": lambda: mean_case(dtype),
        "RESHAPE": lambda: reshape_case(dtype), "SQUEEZE": lambda: squeeze_case(dtype),
        "PAD": lambda: pad_case(dtype), "SOFTMAX": lambda: fixed_output_case(dtype, "SOFTMAX"),
        "LOGISTIC": lambda: fixed_output_case(dtype, "LOGISTIC"), "TANH": lambda: fixed_output_case(dtype, "TANH"),
        "RELU": lambda: relu_case(dtype, "RELU"), "RELU6": lambda: relu_case(dtype, "RELU6"),
        "RESIZE_BILINEAR": lambda: resize_bilinear_case(dtype), "ARG_MAX": lambda: arg_max_case(dtype),
        "TRANSPOSE": lambda: transpose_case(dtype), "QUANTIZE": lambda: quantize_case(dtype),
        "DEQUANTIZE": lambda: dequantize_case(dtype),
    }
    return table[op]()
