"""The rounding spec: gemmlowp/TFLite fixed-point arithmetic on int32, vectorised. Imports: numpy.

This is the one module that defines how intq rounds. Every kernel calls these functions; none re-derives
them. All functions take Python ints or NumPy integer arrays (any shape, broadcasting) holding int32
values, compute exactly in int64, and return ``np.int32`` values. ``+``/``-`` between int32 values wrap
(two's complement), as gemmlowp's plain ``Add``/``Sub`` do in practice.

Sources: gemmlowp ``fixedpoint/fixedpoint.h``; LiteRT ``tflite/kernels/internal/common.{h,cc}`` and
``quantization_util.cc``. A Q``I``.``F`` number has I integer bits and F = 31 - I fractional bits.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def wrap32(x) -> np.ndarray:
    """Two's-complement wrap of an integer array to int32 (C's int32 overflow on real hardware)."""
    return ((_i64(x) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _out(x):
    return np.asarray(x).astype(np.int32)


def _trunc_div_pow2(t: np.ndarray, bits: int) -> np.ndarray:
    """C++ integer division by 2**bits: rounds toward zero (``>>`` would floor negatives).

    Negative t gets 2**bits - 1 added before the floor shift (``t >> 63`` is -1 exactly for t < 0).
    """
    return (t + ((t >> 63) & ((1 << bits) - 1))) >> bits


def saturating_rounding_doubling_high_mul(a, b):
    """round(a * b / 2^31) with ties toward +inf; int32 x int32 -> int32 (gemmlowp SRDHM, NEON VQRDMULH).

    The only overflow, a == b == INT32_MIN, saturates to INT32_MAX. As fixed point: Q0.31 x Q0.31 -> Q0.31.
    Example ties: a*b = 2^30 gives 1, a*b = -2^30 gives 0.
    """
    a, b = _i64(a), _i64(b)
    ab = a * b
    nudge = (1 << 30) + ((ab >> 63) & (1 - (1 << 31)))      # 2^30 if ab >= 0 else 1 - 2^30
    r = _trunc_div_pow2(ab + nudge, 31)
    if np.any(b == INT32_MIN):                              # the one overflow needs both operands INT32_MIN
        r = np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, r)
    return _out(r)


def rounding_divide_by_pot(x, exponent):
    """round(x / 2^exponent), ties away from zero (gemmlowp RoundingDivideByPOT); exponent in [0, 31].

    2.5 -> 3 and -2.5 -> -3 (x=5 resp. -5 with exponent 1). exponent 0 returns x.
    """
    x, e = _i64(x), _i64(exponent)
    if np.any((e < 0) | (e > 31)):
        raise ValueError("rounding_divide_by_pot: exponent must be in [0, 31]")
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return _out((x >> e) + (remainder > threshold))


def saturating_rounding_multiply_by_pot(x, exponent: int):
    """x * 2^exponent: saturating left shift for exponent > 0, rounding_divide_by_pot for exponent < 0."""
    x = _i64(x)
    if exponent == 0:
        return _out(x)
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return _out(np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent)))


def _left_shift_wrap(x, left):
    return wrap32(_i64(x) * (np.int64(1) << _i64(left)))


def multiply_by_quantized_multiplier(x, multiplier, shift, rounding: str = "double"):
    """x * M0 * 2^(shift - 31) rounded to int32: TFLite's MultiplyByQuantizedMultiplier (paper eq. 6).

    ``multiplier`` M0 is Q0.31 in [2^30, 2^31) (or 0), ``shift`` is a *left* shift (negative = right).
    rounding="double" (TFLite's default build): ``RDBPOT(SRDHM(x << left, M0), right)``, i.e. a tie in
    the high multiply goes toward +inf and then the shift rounds half away from zero.
    rounding="single" (``TFLITE_SINGLE_ROUNDING``, ruy): ``(x*M0 + 2^(30-shift)) >> (31-shift)``, one
    rounding with ties toward +inf; shift must be in [-31, 30]. The int32 result saturates.
    ``multiplier`` and ``shift`` may be arrays (per-channel), broadcast against x.
    """
    x, m, s = _i64(x), _i64(multiplier), _i64(shift)
    if rounding == "double":
        left = np.maximum(s, 0)
        right = np.maximum(-s, 0)
        return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(_left_shift_wrap(x, left), m), right)
    if rounding == "single":
        if np.any((s < -31) | (s > 30)):
            raise ValueError("single rounding needs shift in [-31, 30]")
        total = 31 - s
        r = (x * m + (np.int64(1) << (total - 1))) >> total
        return _out(np.clip(r, INT32_MIN, INT32_MAX))
    raise ValueError(f"rounding must be 'double' or 'single', got {rounding!r}")


def multiply_by_quantized_multiplier_smaller_than_one_exp(x, multiplier, left_shift):
    """TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp (double rounding, left_shift <= 0)."""
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -_i64(left_shift))


def multiply_by_quantized_multiplier_greater_than_one(x, multiplier, left_shift):
    """TFLite's MultiplyByQuantizedMultiplierGreaterThanOne (double rounding, left_shift >= 0)."""
    return saturating_rounding_doubling_high_mul(_left_shift_wrap(x, left_shift), multiplier)


def quantize_multiplier(real: float, rounding: str = "double") -> tuple[int, int]:
    """Real multiplier M -> (M0, shift) with M = M0 * 2^(shift - 31), M0 in [2^30, 2^31) (paper eq. 5-6).

    TFLite's QuantizeMultiplier (quantization_util.cc), done offline in double precision: frexp, the
    mantissa times 2^31 rounded half away from zero; a mantissa rounding up to 2^31 becomes 2^30 with
    shift + 1; |M| < 2^-32 (shift < -31) flushes to (0, 0). With rounding="single" a shift above 30
    saturates to (2^31 - 1, 30) as TFLite does under TFLITE_SINGLE_ROUNDING. Returns Python ints.
    """
    real = float(real)
    if not math.isfinite(real):
        raise ValueError(f"quantize_multiplier: multiplier must be finite, got {real}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(math.copysign(math.floor(abs(q) * (1 << 31) + 0.5), q))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if rounding == "single" and shift > 30:
        shift, q_fixed = 30, INT32_MAX
    return q_fixed, shift


# --- gemmlowp fixed-point transcendental functions (softmax, logistic, tanh) -------------------------

def rounding_half_sum(a, b):
    """(a + b) / 2 rounded half away from zero, without overflow (gemmlowp RoundingHalfSum)."""
    s = _i64(a) + _i64(b)
    s = s + np.where(s >= 0, 1, -1)
    return _out(np.where(s >= 0, s // 2, -((-s) // 2)))


def _srdhm(a, b):
    return _i64(saturating_rounding_doubling_high_mul(a, b))


def exp_on_interval_between_negative_one_quarter_and_0_excl(a):
    """exp(a) for a in [-1/4, 0), Q0.31 -> Q0.31 (gemmlowp; Taylor series around -1/8)."""
    a = _i64(a)
    constant_term = 1895147668          # exp(-1/8)
    constant_1_over_3 = 715827883
    x = wrap32(a + (1 << 28))            # a + 1/8
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = _i64(rounding_divide_by_pot(x4, 2))
    p = _i64(rounding_divide_by_pot(wrap32(_srdhm(wrap32(x4_over_4 + x3), constant_1_over_3) + x2), 1))
    return _out(wrap32(constant_term + _srdhm(constant_term, wrap32(x + p))))


def exp_on_negative_values(a, integer_bits: int):
    """exp(a) for a <= 0 given as Q``integer_bits``.(31-integer_bits), result Q0.31 (gemmlowp)."""
    a = _i64(a)
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = wrap32((a & mask) - one_quarter)
    result = _i64(exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits)))
    remainder = wrap32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                                 (2, 39332535), (3, 720401), (4, 242)):
        if integer_bits > exponent:
            bit = frac + exponent
            if 0 <= bit < 31:
                result = np.where(remainder & (1 << bit), _srdhm(result, multiplier), result)
    if integer_bits > 5:
        clamp = -(1 << (frac + 5))
        result = np.where(a < clamp, 0, result)
    return _out(np.where(a == 0, INT32_MAX, result))


def _one_over_one_plus_x_q229(a):
    """Newton-Raphson for 1/(1+x) (48/17 - 32/17 d start, 3 steps): x in [0,1] Q0.31 -> raw Q2.29 of 2/(1+x)."""
    half_denominator = _i64(rounding_half_sum(a, INT32_MAX))
    x = wrap32(1515870810 + _srdhm(half_denominator, -1010580540))   # 48/17 - 32/17 * d
    for _ in range(3):
        half_denominator_times_x = _srdhm(half_denominator, x)
        one_minus = wrap32((1 << 29) - half_denominator_times_x)
        x = wrap32(x + _i64(saturating_rounding_multiply_by_pot(_srdhm(x, one_minus), 2)))
    return x


def one_over_one_plus_x_for_x_in_0_1(a):
    """1 / (1 + a) for a in [0, 1], Q0.31 -> Q0.31 (gemmlowp; Rescale<0>(ExactMulByPot<-1>(x)))."""
    return saturating_rounding_multiply_by_pot(_one_over_one_plus_x_q229(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a):
    """(1 - a) / (1 + a) for a in [0, 1], Q0.31 -> Q0.31 (gemmlowp, used by tanh)."""
    return saturating_rounding_multiply_by_pot(wrap32(_one_over_one_plus_x_q229(a) - (1 << 29)), 2)


def logistic(a, integer_bits: int):
    """1 / (1 + exp(-a)) for a Q``integer_bits`` input, result Q0.31 (gemmlowp logistic)."""
    a = _i64(a)
    mask_if_positive = a > 0
    mask_if_zero = a == 0
    abs_input = np.where(mask_if_positive, a, -a)
    result_if_positive = _i64(one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap32(-abs_input), integer_bits)))
    result_if_negative = wrap32(INT32_MAX - result_if_positive)
    out = np.where(mask_if_zero, 1 << 30, np.where(mask_if_positive, result_if_positive, result_if_negative))
    return _out(out)


def tanh(a, integer_bits: int):
    """tanh(a) for a Q``integer_bits`` input, result Q0.31 (gemmlowp tanh)."""
    a = _i64(a)
    n = np.where(a < 0, a, -a)                          # -|a|
    # exp(2n): gemmlowp's ExactMulByPot<1> keeps the raw value and adds one integer bit.
    t = _i64(one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1)))
    out = np.where(a > 0, t, -t)
    return _out(np.where(a == 0, 0, out))


def get_reciprocal(x, x_integer_digits: int):
    """(1/x as Q0.31 of the normalised mantissa, number of bits over unit) -- TFLite's GetReciprocal."""
    x = _i64(x)
    ux = x & 0xFFFFFFFF
    headroom_plus_one = np.array([32 - int(v).bit_length() for v in np.ravel(ux)], dtype=np.int64).reshape(ux.shape)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_minus_one = wrap32(((ux << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one), num_bits_over_unit
