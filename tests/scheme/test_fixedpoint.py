"""intq.scheme.fixedpoint against exact integer / Fraction maths, with declared domains and tolerances.

Tolerances are in raw units of the output (1 LSB = 2^-31 for Q0.31). Exact functions have tolerance 0;
the gemmlowp transcendental approximations have the tolerances measured on 200,000 random inputs
(exp: 492 LSB = 2.3e-7, the Taylor remainder (1/8)^5/120; logistic 152; tanh 305; 1/(1+x) 6.7).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.scheme import fixedpoint as fp

INT32_MIN, INT32_MAX = fp.INT32_MIN, fp.INT32_MAX
int32s = st.integers(INT32_MIN, INT32_MAX)


def _floor_half_up(fr: Fraction) -> int:
    """round(fr) with ties toward +inf."""
    return math.floor(fr + Fraction(1, 2))


def _half_away(fr: Fraction) -> int:
    """round(fr) with ties away from zero."""
    return int(math.copysign(math.floor(abs(fr) + Fraction(1, 2)), fr)) if fr else 0


def _clamp32(v: int) -> int:
    return max(INT32_MIN, min(INT32_MAX, v))


# --- exact integer primitives (tolerance 0) -------------------------------------------------------------

def test_wrap32():
    assert fp.wrap32(INT32_MAX + 1) == INT32_MIN and fp.wrap32(INT32_MIN - 1) == INT32_MAX and fp.wrap32(-5) == -5


@settings(max_examples=300, deadline=None)
@given(a=int32s, b=int32s)
def test_srdhm_is_round_half_up_of_ab_over_2_31(a, b):
    want = INT32_MAX if a == b == INT32_MIN else _floor_half_up(Fraction(a * b, 1 << 31))
    assert int(fp.saturating_rounding_doubling_high_mul(a, b)) == want


def test_srdhm_ties_go_toward_plus_infinity():
    # a*b = +2^30 is +0.5 in units of 2^31 -> 1 ; a*b = -2^30 is -0.5 -> 0 (toward +inf, not away from zero)
    assert fp.saturating_rounding_doubling_high_mul(1 << 15, 1 << 15) == 1
    assert fp.saturating_rounding_doubling_high_mul(-(1 << 15), 1 << 15) == 0
    # -1.5 -> -1 ; only overflow: MIN * MIN = +1.0 saturates to MAX
    assert fp.saturating_rounding_doubling_high_mul(-3 << 15, 1 << 15) == -1
    assert fp.saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX


@settings(max_examples=300, deadline=None)
@given(x=int32s, e=st.integers(0, 31))
def test_rdbpot_is_round_half_away(x, e):
    assert int(fp.rounding_divide_by_pot(x, e)) == _half_away(Fraction(x, 1 << e))


def test_rdbpot_ties_go_away_from_zero():
    # 5/2 = 2.5 -> 3 ; -5/2 = -2.5 -> -3 ; 3/4 = 0.75 -> 1 ; -2/4 = -0.5 -> -1 ; exponent 0 is the identity
    assert [int(fp.rounding_divide_by_pot(x, e)) for x, e in ((5, 1), (-5, 1), (3, 2), (-2, 2), (-7, 0))] == \
        [3, -3, 1, -1, -7]
    with pytest.raises(ValueError):
        fp.rounding_divide_by_pot(1, 32)


@settings(max_examples=200, deadline=None)
@given(x=int32s, e=st.integers(-31, 31))
def test_saturating_rounding_multiply_by_pot(x, e):
    want = _clamp32(x << e) if e >= 0 else _half_away(Fraction(x, 1 << -e))
    assert int(fp.saturating_rounding_multiply_by_pot(x, e)) == want


@settings(max_examples=200, deadline=None)
@given(a=int32s, b=int32s)
def test_rounding_half_sum(a, b):
    assert int(fp.rounding_half_sum(a, b)) == _half_away(Fraction(a + b, 2))


# --- MultiplyByQuantizedMultiplier ------------------------------------------------------------------------

multipliers = st.integers(1 << 30, INT32_MAX)


@settings(max_examples=300, deadline=None)
@given(x=st.integers(-(1 << 23), 1 << 23), m=multipliers, shift=st.integers(-31, 7))
def test_mbqm_double_rounding_composition_and_error(x, m, shift):
    # domain: x * 2^max(shift, 0) fits in int32 (TFLite's left shift wraps beyond; see test below)
    left, right = max(shift, 0), max(-shift, 0)
    high = _floor_half_up(Fraction(x * (1 << left) * m, 1 << 31))
    want = _half_away(Fraction(high, 1 << right))
    got = int(fp.multiply_by_quantized_multiplier(x, m, shift))
    assert got == want
    # two roundings: at most 1/2 LSB from each, the first scaled down by 2^right
    assert abs(got - Fraction(x * m, 1 << 31) * Fraction(2) ** shift) <= Fraction(1, 2) + Fraction(1, 2 << right)


@settings(max_examples=300, deadline=None)
@given(x=st.integers(-(1 << 24), 1 << 24), m=multipliers, shift=st.integers(-31, 7))
def test_mbqm_single_rounding_is_one_round_half_up(x, m, shift):
    want = _clamp32(_floor_half_up(Fraction(x * m, 1 << (31 - shift))))
    assert int(fp.multiply_by_quantized_multiplier(x, m, shift, rounding="single")) == want


def test_mbqm_left_shift_wraps_like_int32():
    # TFLite computes x * (1 << left) in int32: 2^24 << 7 = 2^31 wraps to -2^31, then * 0.5 -> -2^30
    assert fp.multiply_by_quantized_multiplier(1 << 24, 1 << 30, 7) == -(1 << 30)


def test_single_vs_double_rounding_pinned():
    # x = 1, M0 = 2^30 (0.5), shift -1: real 0.25. double: SRDHM -> round(0.5) = 1 (tie up), RDBPOT(1, 1) = 1
    # (tie away) -> 1 ; single: (2^30 + 2^31) >> 32 = 0 -> 0 (correctly rounded)
    assert fp.multiply_by_quantized_multiplier(1, 1 << 30, -1) == 1
    assert fp.multiply_by_quantized_multiplier(1, 1 << 30, -1, rounding="single") == 0
    # x = -3, M0 = 2^30, shift -1: real -0.75. double: SRDHM(-3, 2^30) = round(-1.5) = -1, RDBPOT(-1, 1) = -1;
    # single: (-3*2^30 + 2^31) >> 32 = floor(-0.25) = -1
    assert fp.multiply_by_quantized_multiplier(-3, 1 << 30, -1) == -1
    assert fp.multiply_by_quantized_multiplier(-3, 1 << 30, -1, rounding="single") == -1
    # exact ties: real -2.5 (x = -5, M = 0.5, shift 0): double -> SRDHM gives round(-2.5) = -2 (toward +inf),
    # single -> floor(-2.5 + 0.5) = -2 as well
    assert fp.multiply_by_quantized_multiplier(-5, 1 << 30, 0) == -2
    assert fp.multiply_by_quantized_multiplier(-5, 1 << 30, 0, rounding="single") == -2
    with pytest.raises(ValueError):
        fp.multiply_by_quantized_multiplier(1, 1 << 30, 31, rounding="single")
    with pytest.raises(ValueError):
        fp.multiply_by_quantized_multiplier(1, 1 << 30, 0, rounding="nearest")


def test_mbqm_variants_are_the_two_halves():
    rng = np.random.default_rng(0)
    x = rng.integers(-(1 << 20), 1 << 20, 1000)
    m = int(rng.integers(1 << 30, INT32_MAX))
    assert np.array_equal(fp.multiply_by_quantized_multiplier_smaller_than_one_exp(x, m, -5),
                          fp.multiply_by_quantized_multiplier(x, m, -5))
    assert np.array_equal(fp.multiply_by_quantized_multiplier_greater_than_one(x, m, 3),
                          fp.multiply_by_quantized_multiplier(x, m, 3))


def test_mbqm_per_channel_broadcast():
    x = np.array([[100, 100], [-100, -100]])
    got = fp.multiply_by_quantized_multiplier(x, np.array([1 << 30, 1 << 30]), np.array([0, -1]))
    assert got.tolist() == [[50, 25], [-50, -25]]


# --- QuantizeMultiplier -----------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(real=st.floats(2.0 ** -31, 2.0 ** 30, allow_nan=False))
def test_quantize_multiplier_mantissa_and_error(real):
    m0, shift = fp.quantize_multiplier(real)
    assert (1 << 30) <= m0 < (1 << 31)
    # M0 = round_half_away(q * 2^31) with q = frexp mantissa: |M0 * 2^(shift-31) - real| <= 2^(shift-32)
    assert abs(Fraction(m0) * Fraction(2) ** (shift - 31) - Fraction(real)) <= Fraction(2) ** (shift - 32)


def test_quantize_multiplier_pinned():
    assert fp.quantize_multiplier(0.0) == (0, 0)
    assert fp.quantize_multiplier(1.0) == (1 << 30, 1)                  # frexp(1) = (0.5, 1)
    assert fp.quantize_multiplier(0.75) == (3 << 29, 0)
    # mantissa 1 - 2^-40 rounds up to 2^31: becomes 2^30 with shift + 1
    assert fp.quantize_multiplier(1.0 - 2.0 ** -40) == (1 << 30, 1)
    # tie in the mantissa: q * 2^31 = 2^30 + 0.5 -> rounds away from zero to 2^30 + 1
    assert fp.quantize_multiplier(0.5 + 2.0 ** -32) == ((1 << 30) + 1, 0)
    assert fp.quantize_multiplier(-0.75) == (-(3 << 29), 0)
    # shift < -31 flushes to zero: 2^-32 = 0.5 * 2^-31 is kept (shift -31), 2^-33 is not
    assert fp.quantize_multiplier(2.0 ** -32) == (1 << 30, -31)
    assert fp.quantize_multiplier(2.0 ** -33) == (0, 0)
    # single rounding saturates a shift above 30
    assert fp.quantize_multiplier(2.0 ** 40, rounding="single") == (INT32_MAX, 30)
    assert fp.quantize_multiplier(2.0 ** 40) == (1 << 30, 41)
    with pytest.raises(ValueError):
        fp.quantize_multiplier(float("nan"))


# --- gemmlowp transcendental functions vs float maths -----------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(a=st.integers(-(1 << 29), -1))
def test_exp_on_interval(a):
    got = int(fp.exp_on_interval_between_negative_one_quarter_and_0_excl(a))
    assert abs(got - math.exp(a / 2 ** 31) * 2 ** 31) <= 500


@settings(max_examples=200, deadline=None)
@given(a=st.integers(INT32_MIN + 1, 0), integer_bits=st.sampled_from([0, 1, 2, 3, 4, 5, 6, 12]))
def test_exp_on_negative_values(a, integer_bits):
    got = int(fp.exp_on_negative_values(a, integer_bits))
    assert abs(got - math.exp(a / 2 ** (31 - integer_bits)) * 2 ** 31) <= 500


def test_exp_on_negative_values_pinned():
    assert fp.exp_on_negative_values(0, 5) == INT32_MAX                  # exp(0) = 1 -> saturated one
    # exp(-1) in Q0.31 is 790015084.35; the product of gemmlowp's constants gives 790015308 (224 LSB high)
    assert fp.exp_on_negative_values(-(1 << 26), 5) == 790015308
    # I = 6 flushes a < -32 to 0
    assert fp.exp_on_negative_values(-(33 << 25), 6) == 0


@settings(max_examples=200, deadline=None)
@given(a=st.integers(0, INT32_MAX))
def test_one_over_one_plus_x(a):
    x = a / 2 ** 31
    assert abs(int(fp.one_over_one_plus_x_for_x_in_0_1(a)) - 2 ** 31 / (1 + x)) <= 8
    assert abs(int(fp.one_minus_x_over_one_plus_x_for_x_in_0_1(a)) - 2 ** 31 * (1 - x) / (1 + x)) <= 16


@settings(max_examples=200, deadline=None)
@given(a=int32s, integer_bits=st.sampled_from([0, 2, 4, 5]))
def test_logistic_and_tanh(a, integer_bits):
    x = a / 2 ** (31 - integer_bits)
    assert abs(int(fp.logistic(a, integer_bits)) - 2 ** 31 / (1 + math.exp(-x))) <= 160
    assert abs(int(fp.tanh(a, integer_bits)) - 2 ** 31 * math.tanh(x)) <= 320


def test_logistic_tanh_pinned():
    assert fp.logistic(0, 4) == 1 << 30                                  # 0.5
    assert fp.tanh(0, 4) == 0
    # odd / complementary symmetry: logistic(-a) = 1 - logistic(a) (raw: INT32_MAX - r); tanh(-a) = -tanh(a)
    a = np.array([1, 12345, 1 << 27, 5 << 27])
    assert np.array_equal(fp.logistic(-a, 4), INT32_MAX - fp.logistic(a, 4))
    assert np.array_equal(fp.tanh(-a, 4), -fp.tanh(a, 4))


@settings(max_examples=200, deadline=None)
@given(raw=st.integers(1 << 19, INT32_MAX))
def test_get_reciprocal(raw):
    # x = raw / 2^19 (Q12.19, >= 1 as in softmax); 1/x = inv * 2^-31 * 2^-bits_over_unit
    inv, bits = fp.get_reciprocal(raw, 12)
    approx = int(inv) / 2 ** 31 * 2.0 ** -int(bits)
    assert abs(approx * raw / 2 ** 19 - 1) <= 1e-8


def test_get_reciprocal_pinned():
    # x = 1.0 (raw 2^19): clz = 12 -> bits_over_unit 0, shifted mantissa 0 -> 1/(1+0) = saturated one
    inv, bits = fp.get_reciprocal(1 << 19, 12)
    assert (int(inv), int(bits)) == (INT32_MAX, 0)
    # x = 2.0: one more bit over unit, same mantissa
    inv, bits = fp.get_reciprocal(1 << 20, 12)
    assert (int(inv), int(bits)) == (INT32_MAX, 1)
