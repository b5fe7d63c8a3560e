"""Reference DEPTHWISE_CONV_2D: hand-computed depth multiplier case, float-model property test, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import DepthwiseConv2DOptions
from intq.runtime.reference.common import compute_padding
from reference_cases import dequant, one_op, q, run, within_one_lsb


def _dw_graph(x_shape, w, bias, xq, wq, yq, out_shape, dtype="uint8", **opts):
    consts = [("w", w, wq)]
    consts.append(("b", bias, q(np.float32(xq.scale[0]) * wq.scale, 0, 0)) if bias is not None else (None, None, None))
    return one_op("DEPTHWISE_CONV_2D", [("x", x_shape, dtype, xq)], consts, (out_shape, dtype, yq),
                  DepthwiseConv2DOptions(**opts))


def test_hand_computed_depth_multiplier_2():
    # input channels c0, c1 (x - zp = 3, -1); depth_multiplier 2 -> output channels
    # oc0 = c0*w0, oc1 = c0*w1, oc2 = c1*w2, oc3 = c1*w3 with w - zp = [1, 2, 3, -4]:
    # acc = [3, 6, -3, 4]; + bias [1, 0, 0, 0] = [4, 6, -3, 4]; M = 1 -> + zp_out 100 = [104, 106, 97, 104]
    x = np.array([13, 9], np.uint8).reshape(1, 1, 1, 2)
    w = (np.array([1, 2, 3, -4]) + 50).astype(np.uint8).reshape(1, 1, 1, 4)
    g = _dw_graph(x.shape, w, np.array([1, 0, 0, 0], np.int32), q(1.0, 10), q(1.0, 50), q(1.0, 100), (1, 1, 1, 4),
                  depth_multiplier=2)
    assert run(g, x).ravel().tolist() == [104, 106, 97, 104]


def _float_dw(xr, wr, bias_r, mult, stride, dil, padding):
    n, h, w, c = xr.shape
    _, kh, kw, co = wr.shape
    oh, ph = compute_padding(padding, h, kh, stride, dil)
    ow, pw = compute_padding(padding, w, kw, stride, dil)
    xrep = np.repeat(xr, mult, axis=3)
    out = np.zeros((n, oh, ow, co))
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * stride - ph + ky * dil, ox * stride - pw + kx * dil
                    if 0 <= iy < h and 0 <= ix < w:
                        out[:, oy, ox] += xrep[:, iy, ix] * wr[0, ky, kx]
    return out + bias_r


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_matches_float_model_within_one_lsb(data):
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    h, w, c, mult = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4)),
                     data.draw(st.integers(1, 3)))
    k, stride, dil = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    oh, _ = compute_padding(padding, h, k, stride, dil)
    ow, _ = compute_padding(padding, w, k, stride, dil)
    if oh <= 0 or ow <= 0:
        return
    co = c * mult
    lo, hi = (0, 255) if dtype == "uint8" else (-128, 127)
    s_in, z_in = float(np.float32(rng.uniform(0.01, 0.1))), int(rng.integers(lo, hi + 1))
    if dtype == "uint8":
        ws, wz = np.float32([rng.uniform(0.005, 0.05)]), int(rng.integers(0, 256))
        wdata = rng.integers(0, 256, (1, k, k, co)).astype(np.uint8)
    else:
        ws, wz = rng.uniform(0.005, 0.05, co).astype(np.float32), 0
        wdata = rng.integers(-127, 128, (1, k, k, co)).astype(np.int8)
    bias = rng.integers(-2000, 2000, co).astype(np.int32)
    s_out, z_out = float(np.float32(rng.uniform(0.02, 0.2))), int(rng.integers(lo, hi + 1))
    g = _dw_graph((1, h, w, c), wdata, bias, q(s_in, z_in), q(ws, wz, axis=3), q(s_out, z_out), (1, oh, ow, co), dtype,
                  padding=padding, stride_h=stride, stride_w=stride, dilation_h=dil, dilation_w=dil,
                  depth_multiplier=mult)
    x = rng.integers(lo, hi + 1, (2, h, w, c)).astype(dtype)
    real = _float_dw(dequant(x, s_in, z_in), dequant(wdata, np.float64(ws), wz),
                     bias * (np.float64(s_in) * np.float64(ws)), mult, stride, dil, padding)
    within_one_lsb(run(g, x), real, s_out, z_out, dtype)


def test_depth_multiplier_mismatch_names_the_node():
    g = _dw_graph((1, 3, 3, 2), np.zeros((1, 1, 1, 3), np.uint8), None, q(1.0, 0), q(1.0, 0), q(1.0, 0),
                  (1, 3, 3, 3))
    with pytest.raises(IRError, match="depthwise_conv_2d_under_test"):
        run(g, np.zeros((1, 3, 3, 2), np.uint8))


def test_filter_must_have_leading_one():
    g = _dw_graph((1, 3, 3, 2), np.zeros((2, 1, 1, 2), np.uint8), None, q(1.0, 0), q(1.0, 0), q(1.0, 0),
                  (1, 3, 3, 2))
    with pytest.raises(IRError, match=r"\[1, kh, kw, C\*M\]"):
        run(g, np.zeros((1, 3, 3, 2), np.uint8))
