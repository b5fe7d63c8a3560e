"""Reference CONV_2D: hand-computed cases, float-model property test, int32 wrap, error cases."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import Conv2DOptions
from intq.runtime.reference.common import compute_padding
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, wrap32
from reference_cases import dequant, one_op, q, run, within_one_lsb


def _conv_graph(x_shape, w, bias, xq, wq, yq, out_shape, dtype="uint8", **opts):
    consts = [("w", w, wq), ("b", bias, q(np.float32(xq.scale[0]) * wq.scale, 0, 0)) if bias is not None else (None, None, None)]
    return one_op("CONV_2D", [("x", x_shape, dtype, xq)], consts, (out_shape, dtype, yq), Conv2DOptions(**opts))


def test_hand_computed_uint8_valid():
    # x - 128 = [[2, -2], [0, 4]], w - 128 = [[1, 3], [-1, 0]]:
    # acc = 2*1 + (-2)*3 + 0*(-1) + 4*0 = -4; + bias 20 = 16; M = 0.5*0.25/1.0 = 0.125 -> 2; + zp_out 10 = 12
    x = np.array([130, 126, 128, 132], np.uint8).reshape(1, 2, 2, 1)
    w = np.array([129, 131, 127, 128], np.uint8).reshape(1, 2, 2, 1)
    g = _conv_graph(x.shape, w, np.array([20], np.int32), q(0.5, 128), q(0.25, 128), q(1.0, 10), (1, 1, 1, 1),
                    padding="VALID")
    assert run(g, x).tolist() == [[[[12]]]]


def test_same_padding_skips_outside_taps():
    # 1x1 image, 3x3 filter, SAME: only the centre tap (w - zp = 2) sees the pixel (x - zp = 5):
    # acc = 10; M = 1*1/1 = 1 -> 10; + zp 0. Padded taps would add (w - zp)*(0 - zp_in) if read as code 0.
    w = np.full((1, 3, 3, 1), 100, np.uint8)
    w[0, 1, 1, 0] = 102
    g = _conv_graph((1, 1, 1, 1), w, None, q(1.0, 50), q(1.0, 100), q(1.0, 0), (1, 1, 1, 1), padding="SAME")
    assert run(g, np.array([[[[55]]]], np.uint8)).item() == 10


def test_fused_relu6_and_batch_size():
    # identity 1x1 conv, scales 1: out = x - zp_in + zp_out clamped to RELU6 = [Quantize(0), Quantize(6)] = [3, 9]
    w = np.full((1, 1, 1, 1), 1, np.uint8)
    g = _conv_graph((1, 1, 4, 1), w, None, q(1.0, 0), q(1.0, 0), q(1.0, 3), (1, 1, 4, 1), activation="RELU6")
    x = np.array([0, 2, 5, 200] * 3, np.uint8).reshape(3, 1, 4, 1)       # batch 3 although the graph says 1
    assert run(g, x)[:, 0, :, 0].tolist() == [[3, 5, 8, 9]] * 3


def _float_conv(xr, wr, bias_r, stride, dilation, padding, groups):
    n, h, w, c = xr.shape
    co, kh, kw, cg = wr.shape
    oh, ph = compute_padding(padding, h, kh, stride, dilation)
    ow, pw = compute_padding(padding, w, kw, stride, dilation)
    out = np.zeros((n, oh, ow, co))
    og = co // groups
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * stride - ph + ky * dilation, ox * stride - pw + kx * dilation
                    if 0 <= iy < h and 0 <= ix < w:
                        for oc in range(co):
                            g = oc // og
                            out[:, oy, ox, oc] += xr[:, iy, ix, g * cg:(g + 1) * cg] @ wr[oc, ky, kx]
    return out + bias_r


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_matches_float_model_within_one_lsb(data):
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    h, w = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    k, stride, dil = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    groups = data.draw(st.sampled_from([1, 2]))
    cg, og = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    c, co = cg * groups, og * groups
    oh, _ = compute_padding(padding, h, k, stride, dil)
    ow, _ = compute_padding(padding, w, k, stride, dil)
    if oh <= 0 or ow <= 0:
        return
    lo, hi = (0, 255) if dtype == "uint8" else (-128, 127)
    s_in, z_in = float(np.float32(rng.uniform(0.01, 0.1))), int(rng.integers(lo, hi + 1))
    if dtype == "uint8":
        ws, wz = np.float32([rng.uniform(0.005, 0.05)]), int(rng.integers(0, 256))
        wdata = rng.integers(0, 256, (co, k, k, cg)).astype(np.uint8)
    else:
        ws, wz = rng.uniform(0.005, 0.05, co).astype(np.float32), 0
        wdata = rng.integers(-127, 128, (co, k, k, cg)).astype(np.int8)
    bias = rng.integers(-2000, 2000, co).astype(np.int32)
    s_out, z_out = float(np.float32(rng.uniform(0.05, 0.5))), int(rng.integers(lo, hi + 1))
    g = _conv_graph((1, h, w, c), wdata, bias, q(s_in, z_in), q(ws, wz), q(s_out, z_out), (1, oh, ow, co), dtype,
                    padding=padding, stride_h=stride, stride_w=stride, dilation_h=dil, dilation_w=dil)
    x = rng.integers(lo, hi + 1, (2, h, w, c)).astype(dtype)
    y = run(g, x)
    wr = dequant(wdata, np.float64(ws).reshape(-1, 1, 1, 1) if ws.size > 1 else ws[0], wz)
    real = _float_conv(dequant(x, s_in, z_in), wr, bias * (np.float64(s_in) * np.float64(ws)), stride, dil, padding,
                       groups)
    within_one_lsb(y, real, s_out, z_out, dtype)


def test_int8_per_channel_uses_each_channels_multiplier():
    # two output channels, same weights and input, weight scales 1/64 and 1/32 -> outputs differ by x2
    w = np.full((2, 1, 1, 1), 64, np.int8)
    g = _conv_graph((1, 1, 1, 1), w, None, q(1.0, 0), q([1 / 64, 1 / 32], 0), q(1.0, 0), (1, 1, 1, 2), "int8")
    assert run(g, np.array([[[[10]]]], np.int8)).ravel().tolist() == [10, 20]


def test_int32_accumulator_wraps_like_tflite():
    # 40000 taps of (0 - 255) * (0 - 255) = 65025 sum to 2,601,000,000 > 2^31 - 1: TFLite's int32 accumulator
    # wraps to 2,601,000,000 - 2^32 = -1,693,967,296 before the requantization.
    c = 40000
    g = _conv_graph((1, 1, 1, c), np.zeros((1, 1, 1, c), np.uint8), None, q(1.0, 255), q(1e-4, 255), q(1.0, 128),
                    (1, 1, 1, 1))
    acc = wrap32(65025 * c)
    assert int(acc) == 2_601_000_000 - 2 ** 32
    m0, shift = quantize_multiplier(float(np.float64(np.float32(1.0) * np.float32(1e-4)) / 1.0))
    expected = np.clip(int(multiply_by_quantized_multiplier(acc, m0, shift)) + 128, 0, 255)
    assert run(g, np.zeros((1, 1, 1, c), np.uint8)).item() == expected == 0


def test_bad_filter_depth_names_the_node():
    g = _conv_graph((1, 4, 4, 3), np.zeros((2, 1, 1, 2), np.uint8), None, q(1.0, 0), q(1.0, 0), q(1.0, 0),
                    (1, 4, 4, 2))
    with pytest.raises(IRError, match="conv_2d_under_test"):
        run(g, np.zeros((1, 4, 4, 3), np.uint8))


def test_wrong_output_shape_is_an_error():
    g = _conv_graph((1, 4, 4, 1), np.zeros((2, 3, 3, 1), np.uint8), None, q(1.0, 0), q(1.0, 0), q(1.0, 0),
                    (1, 4, 4, 2), padding="VALID")
    with pytest.raises(IRError, match=r"should be \[N, 2, 2, 2\]"):
        run(g, np.zeros((1, 4, 4, 1), np.uint8))


def test_int8_weights_must_be_symmetric():
    g = _conv_graph((1, 1, 1, 1), np.zeros((1, 1, 1, 1), np.int8), None, q(1.0, 0), q(1.0, 3), q(1.0, 0),
                    (1, 1, 1, 1), "int8")
    with pytest.raises(IRError, match="symmetric"):
        run(g, np.zeros((1, 1, 1, 1), np.int8))


@pytest.mark.parametrize("kernels", ["reference", "fast"])
@pytest.mark.parametrize("activation,scale,refused", [("RELU6", 1.2e-10, True), ("RELU_N1_TO_1", 1e-10, True),
                                                      ("RELU", 1e-12, False), ("RELU6", 2.8e-9, False)])
def test_fused_bound_beyond_int32_is_refused_like_litert(activation, scale, refused, kernels):
    # LiteRT's Prepare: tmp = TfLiteRound(f / s_out) in float32 must lie in [(float)INT32_MIN, (float)INT32_MAX]
    # ("kernel_util.cc:349 no_integer_overflow_from_quantization was not true. Node number 2 (CONV_2D) failed
    # to prepare" for an int8 conv calibrated on zeros). 6 / 2.8e-9 = 2.14e9 still fits; RELU's bound 0 always (at
    # 1e-12 the multiplier's left shift is 26: a smaller scale would be refused for that instead).
    from intq.runtime.interpreter import Interpreter
    w = np.full((1, 1, 1, 1), 1, np.int8)
    g = _conv_graph((1, 1, 4, 1), w, None, q(1 / 255, -128), q(0.01, 0), q(scale, -128), (1, 1, 4, 1),
                    dtype="int8", activation=activation)
    if refused:
        with pytest.raises(IRError, match=r"conv_2d_under_test \(#0\).*too small.*no_integer_overflow"):
            Interpreter(g, kernels=kernels)
    else:
        Interpreter(g, kernels=kernels).run(np.zeros((1, 1, 4, 1), np.int8))


@pytest.mark.parametrize("kernels", ["reference", "fast"])
@pytest.mark.parametrize("s_w,refused", [(2.0 ** 31, True), (2.0 ** 20, False)])
def test_left_shift_beyond_int32_is_refused(s_w, refused, kernels):
    """S_in * S_w / S_out = 2^31 needs a left shift of 32: no defined result in TFLite, and the fast kernels'
    portable requantization (a C shift by 32) and the reference (a wrap) gave different bytes on a fuzzed
    model whose depthwise weights had a scale of 1e8. 2^20 (shift 21) still runs, equal on both sets."""
    from intq.runtime.interpreter import Interpreter
    w = np.full((1, 1, 1, 1), 1, np.int8)
    g = _conv_graph((1, 1, 4, 1), w, None, q(1.0, -128), q(s_w, 0), q(1.0, -128), (1, 1, 4, 1), dtype="int8")
    if refused:
        with pytest.raises(IRError, match=r"conv_2d_under_test \(#0\).*left shift of 32 bits, beyond int32"):
            Interpreter(g, kernels=kernels)
    else:
        x = np.arange(-2, 2, dtype=np.int8).reshape(1, 1, 4, 1) - 126
        assert np.array_equal(Interpreter(g, kernels=kernels).run(x)[0],
                              Interpreter(g, kernels="reference").run(x)[0])
