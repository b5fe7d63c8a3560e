"""intq.scheme.requant: the prepare-time constants shared by the kernels and the training simulation."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings, strategies as st

from intq.scheme.requant import activation_range, average_round, legacy_conv_multiplier, mean_multiplier


def test_activation_range_hand_values():
    # scale 6/255, zp 0: Quantize(6) = 255; RELU6 on [0, 255] keeps it, RELU_N1_TO_1 gives [0-? , 43]
    assert activation_range("NONE", 0.1, 10, 0, 255) == (0, 255)
    assert activation_range("RELU", 0.1, 10, 0, 255) == (10, 255)
    assert activation_range("RELU6", 0.1, 10, 0, 255) == (10, 70)
    assert activation_range("RELU6", 0.01, 0, 0, 255) == (0, 255)       # Quantize(6) = 600 capped by qmax
    assert activation_range("RELU_N1_TO_1", 0.1, 10, 0, 255) == (0, 20)
    assert activation_range("RELU", 0.5, 3, 0, 15) == (3, 15)            # a 4-bit code range


def test_activation_range_bounds_beyond_int32_clamp_to_the_code_range():
    # 6 / 1e-12 does not fit TFLite's int32 cast (undefined there); the exact bound clamps to qmax
    assert activation_range("RELU6", 1e-12, 0, 0, 255) == (0, 255)
    assert activation_range("RELU6", 1e-12, 3, -128, 127) == (3, 127)
    assert activation_range("RELU_N1_TO_1", 1e-12, 0, -128, 127) == (-128, 127)


def test_legacy_conv_multiplier_uses_float32_product():
    s_in, s_w, s_out = 0.1, 0.3, 0.7
    m0, shift = legacy_conv_multiplier(s_in, s_w, s_out)
    real = float(np.float64(np.float32(s_in) * np.float32(s_w)) / np.float64(s_out))
    assert abs(m0 * 2.0 ** (shift - 31) - real) <= 2.0 ** (shift - 31)


def test_mean_multiplier_hand_values():
    assert mean_multiplier(1 << 30, 1, 4) == (1 << 30, -1)
    assert mean_multiplier(1 << 30, 1, 3) == ((1 << 31) // 3, 0)
    assert mean_multiplier(1 << 30, 1, 49) == ((1 << 35) // 49, -4)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 20), 1 << 20), st.integers(1, 400))
def test_average_round_is_half_away_from_zero(acc, n):
    exact = Fraction(acc, n)
    expect = int(abs(exact) + Fraction(1, 2)) * (1 if exact >= 0 else -1)
    assert int(average_round(np.array([acc]), n)[0]) == expect


def test_activation_bound_overflow_is_litert_prepare_check():
    # kernel_util.cc Quantize: tmp = TfLiteRound(f / scale) in float32, ENSURE (float)INT32_MIN <= tmp <=
    # (float)INT32_MAX (= 2^31 in float32). 6 / 2^31 = 2.7939677e-9f is the smallest RELU6 scale accepted.
    from intq.scheme.requant import activation_bound_overflow
    s = np.float32(6.0 / 2 ** 31)
    assert activation_bound_overflow("RELU6", float(s)) is None
    assert activation_bound_overflow("RELU6", float(np.nextafter(s, np.float32(0)))) == 6.0
    assert activation_bound_overflow("RELU6", 1.37797e-10) == 6.0          # the fuzzer's seed 4558
    assert activation_bound_overflow("RELU_N1_TO_1", 1e-10) == -1.0
    assert activation_bound_overflow("RELU", 1e-38) is None and activation_bound_overflow("NONE", 1e-38) is None
    assert activation_bound_overflow("RELU", 0.0) == 0.0                    # 0 / 0 is NaN: refused too
