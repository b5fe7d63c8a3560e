"""Reference QUANTIZE / requantize / DEQUANTIZE: ties away from zero, saturation, uint8<->int8, round trips."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from reference_cases import dequant, one_op, q, run, within_one_lsb


def _quant(x_shape, in_dtype, out_dtype, xq, yq, op="QUANTIZE"):
    return one_op(op, [("x", x_shape, in_dtype, xq)], [], (x_shape, out_dtype, yq))


def test_float_ties_round_away_from_zero_and_saturate():
    # scale 0.5, zp 10: x / 0.5 = [5, -5, 1, -1, 2e9, -2e9] ... 2.5 -> 3 and -2.5 -> -3 (np.round would give 2, -2)
    g = _quant((1, 6), "float32", "int8", None, q(0.5, 10))
    x = np.array([[1.25, -1.25, 0.25, -0.25, 1e9, -1e9]], np.float32)
    assert run(g, x).tolist() == [[13, 7, 11, 9, 127, -128]]


def test_uint8_to_int8_is_the_0x80_shift():
    # same scale, zp 128 -> 0: q' = q - 128 = q ^ 0x80 reinterpreted (TFLite's fast path)
    g = _quant((1, 256), "uint8", "int8", q(0.1, 128), q(0.1, 0))
    x = np.arange(256, dtype=np.uint8).reshape(1, 256)
    assert np.array_equal(run(g, x), (x ^ 0x80).view(np.int8))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_requantize_within_one_lsb(data):
    in_dtype, out_dtype = data.draw(st.sampled_from(["uint8", "int8"])), data.draw(st.sampled_from(["uint8", "int8"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    lo, hi = (0, 255) if in_dtype == "uint8" else (-128, 127)
    olo, ohi = (0, 255) if out_dtype == "uint8" else (-128, 127)
    s_in, s_out = (float(np.float32(rng.uniform(0.01, 1.0))) for _ in range(2))
    z_in, z_out = int(rng.integers(lo, hi + 1)), int(rng.integers(olo, ohi + 1))
    g = _quant((1, 64), in_dtype, out_dtype, q(s_in, z_in), q(s_out, z_out))
    x = rng.integers(lo, hi + 1, (3, 64)).astype(in_dtype)
    within_one_lsb(run(g, x), dequant(x, s_in, z_in), s_out, z_out, out_dtype)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_dequantize_then_quantize_is_identity(data):
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    lo, hi = (0, 255) if dtype == "uint8" else (-128, 127)
    scale, zp = float(np.float32(2.0 ** rng.uniform(-10, 3))), int(rng.integers(lo, hi + 1))
    x = np.arange(lo, hi + 1).astype(dtype).reshape(1, -1)
    deq = run(_quant(x.shape, dtype, "float32", q(scale, zp), None, op="DEQUANTIZE"), x)
    assert deq.dtype == np.float32
    assert np.array_equal(deq, (np.float64(np.float32(scale)) * (x.astype(np.float64) - zp)).astype(np.float32))
    assert np.array_equal(run(_quant(x.shape, "float32", dtype, None, q(scale, zp)), deq), x)


def test_quantize_to_float_is_refused():
    g = _quant((1, 2), "uint8", "float32", q(1.0, 0), None)
    with pytest.raises(IRError, match="quantize_under_test"):
        run(g, np.zeros((1, 2), np.uint8))


def test_float32_extremes_saturate_without_a_warning():
    # |x| / scale overflows float32 to inf for x = +-3.4e38: saturates to the range ends, and no RuntimeWarning
    import warnings
    g = _quant((1, 4), "float32", "uint8", None, q(0.02740284, 105))
    x = np.array([[3.4e38, -3.4e38, 1e10, 0.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(g, x).tolist() == [[255, 0, 255, 105]]
