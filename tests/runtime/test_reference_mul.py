"""Reference MUL: hand-computed case, broadcasting, float-model property test, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import ActivationOptions
from reference_cases import binary_matches_float, one_op, q, run


def _mul(a_shape, b_shape, out_shape, dtype, qa, qb, qy, activation="NONE"):
    return one_op("MUL", [("a", a_shape, dtype, qa), ("b", b_shape, dtype, qb)], [], (out_shape, dtype, qy),
                  ActivationOptions(activation))


def test_hand_computed_uint8():
    # (13 - 10) * (6 - 2) = 12; M = 0.5 * 0.25 / 0.1 = 1.25 -> 15; + zp 7 = 22 (real 1.5 * 1.0 = 1.5 = 15 x 0.1)
    g = _mul((1,), (1,), (1,), "uint8", q(0.5, 10), q(0.25, 2), q(0.1, 7))
    assert run(g, np.array([13], np.uint8), np.array([6], np.uint8)).tolist() == [22]


def test_int8_broadcast_with_rounding_tie():
    # scales 1, 1 -> 2: M = 0.5 = (2^30, shift 0), so MBQM is SRDHM alone, which rounds ties toward +inf:
    # [1.5, -1.5, 2.5] -> [2, -1, 3] (not -2: there is no right shift whose rounding is away from zero).
    # Checked against LiteRT 2.3.0 BUILTIN_REF.
    g = _mul((3,), (1,), (3,), "int8", q(1.0, 0), q(1.0, 0), q(2.0, 0))
    assert run(g, np.array([3, -3, 5], np.int8), np.array([1], np.int8)).tolist() == [2, -1, 3]


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_matches_float_model_within_one_lsb(data):
    binary_matches_float(data, "MUL", 0.1, lambda rng, sa, sb: rng.uniform(20, 200) * sa * sb,
                         lambda a, b: a * b, trim_b_rank=False)


def test_mixed_dtypes_are_refused():
    g = one_op("MUL", [("a", (1,), "uint8", q(1.0, 0)), ("b", (1,), "int8", q(1.0, 0))], [],
               ((1,), "uint8", q(1.0, 0)), ActivationOptions())
    with pytest.raises(IRError, match="mul_under_test"):
        run(g, np.zeros(1, np.uint8), np.zeros(1, np.int8))
