"""Reference AVERAGE_POOL_2D / MAX_POOL_2D: rounding of the mean, clipped windows, int8 negatives, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import Pool2DOptions
from intq.runtime.reference.common import compute_padding
from reference_cases import one_op, q, run


def _pool(op, x_shape, out_shape, dtype="uint8", quant=None, out_quant=None, **opts):
    quant = quant or q(0.1, 0 if dtype == "uint8" else -5)
    return one_op(op, [("x", x_shape, dtype, quant)], [], (out_shape, dtype, out_quant or quant), Pool2DOptions(**opts))


def test_average_rounds_half_away_from_zero():
    # uint8 [1, 2] -> 3/2 = 1.5 -> (3 + 1) / 2 = 2 ; int8 [-1, -2] -> -1.5 -> (-3 - 1) / 2 = -2 (C truncation)
    # int8 [-1, 0] -> -0.5 -> (-1 - 1) / 2 = -1 ; int8 [1, 1, 1, 2] -> 1.25 -> (5 + 2) / 4 = 1
    g = _pool("AVERAGE_POOL_2D", (1, 1, 2, 1), (1, 1, 1, 1), filter_h=1, filter_w=2)
    assert run(g, np.array([1, 2], np.uint8).reshape(1, 1, 2, 1)).item() == 2
    g8 = _pool("AVERAGE_POOL_2D", (3, 1, 2, 1), (3, 1, 1, 1), "int8", filter_h=1, filter_w=2)
    x = np.array([[-1, -2], [-1, 0], [3, -3]], np.int8).reshape(3, 1, 2, 1)
    assert run(g8, x).ravel().tolist() == [-2, -1, 0]


def test_average_same_padding_counts_only_valid_taps():
    # 2x2 image, 3x3 window, SAME, stride 1: corner windows cover all 4 pixels -> mean (10+20+30+41)/4 = 25.25 -> 25
    x = np.array([10, 20, 30, 41], np.uint8).reshape(1, 2, 2, 1)
    g = _pool("AVERAGE_POOL_2D", (1, 2, 2, 1), (1, 2, 2, 1), padding="SAME", filter_h=3, filter_w=3)
    assert run(g, x).ravel().tolist() == [25, 25, 25, 25]


def test_max_pool_int8_padding_is_not_zero():
    # all-negative int8 image with SAME padding: a padded tap must not win with 0
    x = np.array([-100, -50, -70, -90], np.int8).reshape(1, 2, 2, 1)
    g = _pool("MAX_POOL_2D", (1, 2, 2, 1), (1, 1, 1, 1), "int8", padding="SAME", filter_h=3, filter_w=3,
              stride_h=2, stride_w=2)
    assert run(g, x).item() == -50


def test_fused_relu6_clamps():
    # scale 0.1, zp 0: RELU6 -> [0, Quantize(6.0) = 60]
    g = _pool("MAX_POOL_2D", (1, 1, 2, 1), (1, 1, 1, 1), filter_h=1, filter_w=2, activation="RELU6")
    assert run(g, np.array([3, 200], np.uint8).reshape(1, 1, 2, 1)).item() == 60


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_matches_window_loops(data):
    op = data.draw(st.sampled_from(["AVERAGE_POOL_2D", "MAX_POOL_2D"]))
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    h, w, c = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)), data.draw(st.integers(1, 3))
    fh, fw, s = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    padding = data.draw(st.sampled_from(["SAME", "VALID"]))
    oh, ph = compute_padding(padding, h, fh, s)
    ow, pw = compute_padding(padding, w, fw, s)
    if oh <= 0 or ow <= 0:
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    lo, hi = (0, 255) if dtype == "uint8" else (-128, 127)
    x = rng.integers(lo, hi + 1, (2, h, w, c)).astype(dtype)
    g = _pool(op, (2, h, w, c), (2, oh, ow, c), dtype, padding=padding, filter_h=fh, filter_w=fw, stride_h=s,
              stride_w=s)
    y = run(g, x)
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * s - ph, ox * s - pw
            win = x[:, max(0, y0):min(h, y0 + fh), max(0, x0):min(w, x0 + fw)].astype(np.int64)
            if op == "MAX_POOL_2D":
                want = win.max(axis=(1, 2))
            else:
                n = win.shape[1] * win.shape[2]
                tot = win.sum(axis=(1, 2))
                want = np.sign(tot) * ((np.abs(tot) + n // 2) // n)      # half away from zero
            assert np.array_equal(y[:, oy, ox], want)


def test_scale_change_is_refused():
    g = _pool("AVERAGE_POOL_2D", (1, 2, 2, 1), (1, 1, 1, 1), quant=q(0.1, 0), out_quant=q(0.2, 0), filter_h=2,
              filter_w=2)
    with pytest.raises(IRError, match="average_pool_2d_under_test"):
        run(g, np.zeros((1, 2, 2, 1), np.uint8))
