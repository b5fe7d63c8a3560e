"""intq.scheme.qparams: TF Nudge (float32), exact zero, narrow range, 2..8 bits, signed, errors, rounding."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import QuantizationError
from intq.scheme.qparams import QParams, choose_qparams, dequantize, quant_range, quantize, round_half_away

reals = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)


def test_round_half_away_not_half_even():
    # np.round would give 2, -2, 0, 4 ; TfLiteRound (std::round) gives 3, -3, 1, 4 (ties away from zero)
    assert round_half_away(np.array([2.5, -2.5, 0.5, 3.5])).tolist() == [3.0, -3.0, 1.0, 4.0]
    # the largest float32 below 0.5: floor(x + 0.5) would give 1 (the sum rounds to 1.0f); std::round gives 0
    assert round_half_away(np.float32(-0.49999997)) == 0.0 and round_half_away(np.float32(0.49999997)) == 0.0
    # odd integers above 2^23 are exact in float32 and must stay put (x + 0.5 would round to the even neighbour)
    assert round_half_away(np.float32(8388609.0)) == np.float32(8388609.0)
    assert round_half_away(np.array([1.5], np.float32)).dtype == np.float32


def test_quant_range():
    assert quant_range(8) == (0, 255) and quant_range(8, narrow_range=True) == (1, 255)
    assert quant_range(8, signed=True) == (-128, 127) and quant_range(8, True, True) == (-127, 127)
    assert quant_range(2) == (0, 3) and quant_range(4, signed=True) == (-8, 7)
    with pytest.raises(QuantizationError):
        quant_range(1)
    with pytest.raises(QuantizationError):
        quant_range(8.0)


def test_nudge_hand_case():
    # [-1, 1] on uint8: scale = 2f/255 = 0.007843138f; zp_from_min = 0 + 1/scale is 127.49999f in float32
    # (127.5 in exact arithmetic), so the zero point is 127, not 128: the float32 arithmetic matters.
    # nudged range = [(0-127)*s, (255-127)*s] = [-0.99608, 1.00392]
    qp = choose_qparams(-1.0, 1.0)
    assert qp.zero_point == 127 and qp.scale == pytest.approx(2 / 255)
    assert qp.nudged_min == pytest.approx(-127 * 2 / 255) and qp.nudged_max == pytest.approx(128 * 2 / 255)
    # 2 bits (qmin 0, qmax 3): [-0.5, 1.0] -> scale 0.5, zp_from_min = 1.0 -> 1 ;
    # [-0.25, 1.25] -> scale 0.5, zp_from_min = 0.5 exactly -> 1 (a tie, away from zero; half-even would give 0)
    assert choose_qparams(-0.5, 1.0, num_bits=2).zero_point == 1
    assert choose_qparams(-0.25, 1.25, num_bits=2).zero_point == 1
    # a positive-only range is widened to include 0: [2, 4] -> [0, 4], zp 0
    assert choose_qparams(2.0, 4.0).zero_point == 0 and choose_qparams(2.0, 4.0).scale == pytest.approx(4 / 255)
    # all-zero range keeps a usable scale
    qp0 = choose_qparams(0.0, 0.0)
    assert qp0.scale > 0 and quantize(np.zeros(3), qp0).tolist() == [qp0.zero_point] * 3


def _tf_nudge(lo, hi, qmin, qmax):
    """TensorFlow's Nudge in float32, written out independently (notes A.19)."""
    lo, hi = np.float32(min(lo, 0.0)), np.float32(max(hi, 0.0))
    scale = (hi - lo) / np.float32(qmax - qmin)
    zp_from_min = np.float32(qmin) - lo / scale
    zp = qmin if zp_from_min < qmin else qmax if zp_from_min > qmax else int(round_half_away(zp_from_min))
    return scale, zp


@settings(max_examples=200, deadline=None)
@given(a=reals, b=reals, bits=st.integers(2, 8), narrow=st.booleans(), signed=st.booleans())
def test_zero_is_exact_and_matches_tf_nudge(a, b, bits, narrow, signed):
    lo, hi = min(a, b), max(a, b)
    if max(hi, 0.0) - min(lo, 0.0) < 1e-3:
        return                                               # degenerate range: covered by the hand case
    qp = choose_qparams(lo, hi, bits, narrow, signed)
    qmin, qmax = quant_range(bits, narrow, signed)
    assert (qp.qmin, qp.qmax) == (qmin, qmax) and qmin <= qp.zero_point <= qmax
    scale, zp = _tf_nudge(lo, hi, qmin, qmax)
    assert np.float32(qp.scale) == scale and qp.zero_point == zp
    # real 0.0 is exactly representable: it quantizes to the zero point and back to 0.0
    dtype = np.int8 if signed else np.uint8
    assert quantize(np.array([0.0]), qp, dtype)[0] == qp.zero_point
    assert dequantize(np.array([qp.zero_point]), qp)[0] == 0.0
    # the nudged range still contains 0 and spans (qmax - qmin) steps
    assert qp.nudged_min <= 0.0 <= qp.nudged_max
    assert qp.nudged_max - qp.nudged_min == pytest.approx(qp.scale * (qmax - qmin), rel=1e-5)


@settings(max_examples=100, deadline=None)
@given(x=st.lists(st.floats(-50, 50, width=32), min_size=1, max_size=20))
def test_quantize_dequantize_within_half_step(x):
    qp = choose_qparams(-10.0, 10.0)
    q = quantize(np.array(x, np.float32), qp)
    r = dequantize(q, qp)
    inside = (np.array(x) >= qp.nudged_min) & (np.array(x) <= qp.nudged_max)
    assert np.all(np.abs(r[inside] - np.array(x)[inside]) <= qp.scale / 2 * (1 + 1e-5))
    assert np.all((q >= 0) & (q <= 255))


def test_quantize_rounds_half_away_from_zero():
    # scale 0.5, zp 10: 0.25 / 0.5 = 0.5 -> 1 -> 11 ; -0.25 -> -1 -> 9 ; 0.75 -> 1.5 -> 2 -> 12 (half-even: 12 too)
    # -1.25 -> -2.5 -> -3 -> 7 (half-even would give -2 -> 8)
    qp = QParams(0.5, 10, 0, 255)
    assert quantize(np.array([0.25, -0.25, 0.75, -1.25]), qp).tolist() == [11, 9, 12, 7]
    # clamping to the range, int8
    qp8 = QParams(0.1, 0, -128, 127)
    assert quantize(np.array([100.0, -100.0]), qp8, np.int8).tolist() == [127, -128]


def test_errors():
    for lo, hi in ((float("nan"), 1.0), (0.0, float("inf")), (-float("inf"), 0.0)):
        with pytest.raises(QuantizationError, match="finite"):
            choose_qparams(lo, hi)
    with pytest.raises(QuantizationError, match="greater than max"):
        choose_qparams(1.0, -1.0)
    with pytest.raises(QuantizationError):
        choose_qparams("a", 1.0)
    with pytest.raises(QuantizationError, match="NaN"):
        quantize(np.array([np.nan]), QParams(0.1, 0))
    with pytest.raises(QuantizationError):
        choose_qparams(-1.0, 1.0, num_bits=1)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.just(0.0), st.floats(2.0 ** -60, 1e4, width=32)), st.integers(2, 8))
def test_symmetric_scales_equal_choose_qparams(m, bits):
    from intq.scheme.qparams import MIN_RANGE_WIDTH, symmetric_scales
    if 0 < 2 * m <= MIN_RANGE_WIDTH:
        # choose_qparams quantizes a range this narrow as [0, 1]; symmetric weight scales keep 2m / (2^n - 2)
        qmax = (1 << (bits - 1)) - 1
        want = (np.float32(m) - np.float32(-m)) / np.float32(2 * qmax)
        assert symmetric_scales(np.array([m], np.float32), bits)[0] == want
        return
    qp = choose_qparams(-m if m > 0 else -1.0, m if m > 0 else 1.0, bits, narrow_range=True, signed=True)
    assert qp.zero_point == 0
    assert symmetric_scales(np.array([m], np.float32), bits)[0] == np.float32(qp.scale)


@settings(max_examples=200, deadline=None)
@given(a=st.floats(-2 ** -19, 2 ** -19, width=32), b=st.floats(-2 ** -19, 2 ** -19, width=32), bits=st.integers(2, 8),
       narrow=st.booleans(), signed=st.booleans())
def test_tiny_ranges_are_degenerate_and_litert_accepts_every_scale(a, b, bits, narrow, signed):
    # A range no wider than MIN_RANGE_WIDTH (1e-6, TF's kNearZeroTolerance) after widening to 0 quantizes as
    # [0, 1], as [0, 0] does; wider ones keep TF's Nudge. Either way the scale is > 1e-6 / 255, so a fused
    # RELU6 / RELU_N1_TO_1 on it passes LiteRT's Prepare (round(6 / S) fits int32). Seed 4558's ReLU6 output
    # range [0, 3.5e-8] used to give S = 1.4e-10: "no_integer_overflow_from_quantization was not true".
    from intq.scheme.qparams import MIN_RANGE_WIDTH
    from intq.scheme.requant import activation_bound_overflow
    lo, hi = min(a, b), max(a, b)
    qp = choose_qparams(lo, hi, bits, narrow, signed)
    qmin, qmax = quant_range(bits, narrow, signed)
    if float(np.float32(max(hi, 0.0))) - float(np.float32(min(lo, 0.0))) <= MIN_RANGE_WIDTH:
        assert qp == choose_qparams(0.0, 0.0, bits, narrow, signed) == choose_qparams(0.0, 1.0, bits, narrow, signed)
        assert qp.zero_point == qmin
    else:
        assert (np.float32(qp.scale), qp.zero_point) == _tf_nudge(lo, hi, qmin, qmax)
    assert qp.scale > MIN_RANGE_WIDTH / 255
    for act in ("RELU", "RELU6", "RELU_N1_TO_1"):
        assert activation_bound_overflow(act, qp.scale) is None


def test_seed4558_range():
    qp = choose_qparams(0.0, 3.513836e-08, signed=True)                     # int8 ReLU6 output, zero inputs
    assert qp.scale == pytest.approx(1 / 255) and qp.zero_point == -128
    assert choose_qparams(0.0, 1.01e-6).scale == pytest.approx(1.01e-6 / 255)   # just wider: TF's Nudge
