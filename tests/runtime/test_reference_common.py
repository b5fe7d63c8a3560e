"""reference/common.py: fused activation clamp range and SAME/VALID geometry (TFLite kernel_util / padding.h)."""
from __future__ import annotations

import pytest

from intq.runtime.reference.common import activation_range, compute_padding


def test_activation_ranges_uint8():
    # scale 0.05, zp 10: Quantize(0) = 10, Quantize(6) = 10 + 120 = 130, Quantize(+-1) = 10 +- 20
    assert activation_range("NONE", 0.05, 10, "uint8") == (0, 255)
    assert activation_range("RELU", 0.05, 10, "uint8") == (10, 255)
    assert activation_range("RELU6", 0.05, 10, "uint8") == (10, 130)
    assert activation_range("RELU_N1_TO_1", 0.05, 10, "uint8") == (0, 30)      # -10 clamps to qmin 0


def test_activation_range_rounds_half_away_in_float32():
    # scale 4.0: 6 / 4 = 1.5 -> 2 (ties away). 0.48f = 0.4799999893: 6 / 0.48f = 12.50000028 in reals, but the
    # float32 quotient is exactly 12.5 -> 13 -> -128 + 13 = -115. 2/3 as float32 = 0.66666669: +-1 / that is
    # +-1.49999996 in reals (-> +-1 in double) yet exactly +-1.5 in float32 -> +-2 (checked against LiteRT).
    assert activation_range("RELU6", 4.0, 0, "int8") == (0, 2)
    assert activation_range("RELU6", 0.48, -128, "int8") == (-128, -115)
    assert activation_range("RELU_N1_TO_1", 2 / 3, 0, "int8") == (-2, 2)


def test_activation_range_int8_relu6_caps():
    assert activation_range("RELU6", 0.01, -128, "int8") == (-128, 127)      # Quantize(6) = 472 > 127


@pytest.mark.parametrize("padding,in_size,k,s,d,expected", [
    ("SAME", 5, 3, 2, 1, (3, 1)),        # out ceil(5/2) = 3, total (3-1)*2 + 3 - 5 = 2 -> before 1
    ("SAME", 4, 3, 2, 1, (2, 0)),        # total (2-1)*2 + 3 - 4 = 1 -> before 0, extra pixel after
    ("VALID", 5, 3, 2, 1, (2, 0)),       # (5 + 2 - 3) // 2 = 2
    ("SAME", 7, 3, 1, 2, (7, 2)),        # effective kernel 5: total 4 -> before 2
    ("VALID", 2, 3, 1, 1, (0, 0)),       # kernel larger than the input: no output
])
def test_compute_padding(padding, in_size, k, s, d, expected):
    assert compute_padding(padding, in_size, k, s, d) == expected


def test_activation_range_refuses_a_bound_beyond_int32():
    # LiteRT's CalculateActivationRangeQuantized fails Prepare when round(f / scale) does not fit int32
    from intq.errors import IRError
    with pytest.raises(IRError, match="RELU6.*too small"):
        activation_range("RELU6", 1e-10, -128, "int8")
    with pytest.raises(IRError, match="RELU_N1_TO_1"):
        activation_range("RELU_N1_TO_1", 4e-10, 0, "uint8")
    assert activation_range("RELU", 1e-30, -128, "int8") == (-128, 127)
    assert activation_range("RELU_N1_TO_1", 5e-10, 0, "int8") == (-128, 127)   # 1 / 5e-10 = 2e9 fits
