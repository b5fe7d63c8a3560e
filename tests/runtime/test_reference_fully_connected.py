"""Reference FULLY_CONNECTED: hand-computed case, keep_num_dims, the integer (not float) requantization."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import FullyConnectedOptions
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from reference_cases import dequant, one_op, q, run, within_one_lsb


def _fc_graph(x_shape, w, bias, xq, wq, yq, out_shape, dtype="uint8", **opts):
    consts = [("w", w, wq)]
    consts.append(("b", bias, q(np.float32(xq.scale[0]) * wq.scale, 0, 0)) if bias is not None else (None, None, None))
    return one_op("FULLY_CONNECTED", [("x", x_shape, dtype, xq)], consts, (out_shape, dtype, yq),
                  FullyConnectedOptions(**opts))


def test_hand_computed_uint8():
    # x - 100 = [1, 2, 3]; rows of w - 10: [1, 1, 1] and [2, 0, -1]
    # acc = [6, -1] + bias [4, 1] = [10, 0]; M = 0.5 * 1 / 1 = 0.5 -> [5, 0]; + zp 7 = [12, 7]
    w = (np.array([[1, 1, 1], [2, 0, -1]]) + 10).astype(np.uint8)
    g = _fc_graph((1, 3), w, np.array([4, 1], np.int32), q(0.5, 100), q(1.0, 10), q(1.0, 7), (1, 2))
    assert run(g, np.array([[101, 102, 103]], np.uint8)).tolist() == [[12, 7]]


def test_input_is_flattened_and_keep_num_dims():
    w = np.eye(4, dtype=np.uint8) + 1                   # w - zp(1) = identity
    x = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    flat = _fc_graph((2, 3, 4), w, None, q(1.0, 0), q(1.0, 1), q(1.0, 0), (6, 4))
    assert run(flat, x).tolist() == x.reshape(6, 4).tolist()
    kept = _fc_graph((2, 3, 4), w, None, q(1.0, 0), q(1.0, 1), q(1.0, 0), (2, 3, 4), keep_num_dims=True)
    assert np.array_equal(run(kept, x), x)


def test_requantizes_with_fixed_point_not_float():
    # LiteRT 2.3.0's reference FC computes round((double)acc * s_in*s_w/s_out); intq keeps the integer MBQM
    # (double rounding), which differs on about 2^-(right_shift+1) of the elements. Pinned example:
    # M = float32(0.3) -> (M0, shift) = (1288490240, -1). acc = 1: SRDHM(1, M0) = round(0.6) = 1 (in halves),
    # RDBPOT(1, 1) = round_half_away(0.5) = 1, whereas round(0.3) = 0 in float.
    w = np.ones((1, 1), np.int8)
    g = _fc_graph((1, 1), w, None, q(0.3, 0), q(1.0, 0), q(1.0, 0), (1, 1), "int8")
    m0, shift = quantize_multiplier(float(np.float64(np.float32(0.3)) * np.float64(np.float32(1.0))))
    assert (m0, shift) == (1288490240, -1)
    assert run(g, np.array([[1]], np.int8)).item() == 1
    accs = np.arange(-128, 128).astype(np.int8)
    got = run(g, accs.reshape(-1, 1)).ravel()
    assert np.array_equal(got, np.clip(multiply_by_quantized_multiplier(accs.astype(np.int32), m0, shift), -128, 127))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_matches_float_model_within_one_lsb(data):
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    per_channel = dtype == "int8" and data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    d, o, n = data.draw(st.integers(1, 30)), data.draw(st.integers(1, 8)), data.draw(st.integers(1, 3))
    lo, hi = (0, 255) if dtype == "uint8" else (-128, 127)
    s_in, z_in = float(np.float32(rng.uniform(0.01, 0.1))), int(rng.integers(lo, hi + 1))
    ws = rng.uniform(0.005, 0.05, o if per_channel else 1).astype(np.float32)
    wz = int(rng.integers(0, 256)) if dtype == "uint8" else 0
    wdata = rng.integers(lo if dtype == "uint8" else -127, hi + 1, (o, d)).astype(dtype)
    bias = rng.integers(-2000, 2000, o).astype(np.int32)
    s_out, z_out = float(np.float32(rng.uniform(0.02, 0.3))), int(rng.integers(lo, hi + 1))
    g = _fc_graph((n, d), wdata, bias, q(s_in, z_in), q(ws, wz), q(s_out, z_out), (n, o), dtype)
    x = rng.integers(lo, hi + 1, (n, d)).astype(dtype)
    wr = dequant(wdata, np.float64(ws).reshape(-1, 1), wz)
    real = dequant(x, s_in, z_in) @ wr.T + bias * (np.float64(s_in) * np.float64(ws))
    within_one_lsb(run(g, x), real, s_out, z_out, dtype)


def test_input_that_does_not_flatten_is_an_error():
    g = _fc_graph((1, 5), np.zeros((2, 3), np.uint8), None, q(1.0, 0), q(1.0, 0), q(1.0, 0), (1, 2))
    with pytest.raises(IRError, match="fully_connected_under_test"):
        run(g, np.zeros((1, 5), np.uint8))


def test_per_channel_uint8_is_refused():
    g = _fc_graph((1, 2), np.zeros((2, 2), np.uint8), None, q(1.0, 0), q([1.0, 2.0], 0), q(1.0, 0), (1, 2))
    with pytest.raises(IRError, match="per-channel"):
        run(g, np.zeros((1, 2), np.uint8))
