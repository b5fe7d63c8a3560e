"""Reference ADD: hand-computed rescaling, broadcasting, float-model property test, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import ActivationOptions
from reference_cases import binary_matches_float, one_op, q, run


def _add(op, a_shape, b_shape, out_shape, dtype, qa, qb, qy, activation="NONE"):
    return one_op(op, [("a", a_shape, dtype, qa), ("b", b_shape, dtype, qb)], [], (out_shape, dtype, qy),
                  ActivationOptions(activation))


def test_hand_computed_uint8():
    # a: scale 0.5, zp 10; b: scale 0.25, zp 20; out: scale 1, zp 5. twice_max = 1.0:
    # a = 14 -> (14-10) << 20 = 4 * 2^20, x 0.5 = 2^21 ; b = 30 -> 10 * 2^20 x 0.25 = 2.5 * 2^20
    # sum = 4.5 * 2^20, x 1.0 / (2^20 * 1) = 4.5 -> rounds half away to 5; + zp 5 = 10 (real 2 + 2.5 = 4.5)
    g = _add("ADD", (1,), (1,), (1,), "uint8", q(0.5, 10), q(0.25, 20), q(1.0, 5))
    assert run(g, np.array([14], np.uint8), np.array([30], np.uint8)).tolist() == [10]


def test_broadcast_and_relu():
    # [2, 3] + [3] per row, same scales 1 zp 0 except output zp 100; RELU floor = Quantize(0) = 100
    g = _add("ADD", (2, 3), (3,), (2, 3), "int8", q(1.0, 0), q(1.0, 0), q(1.0, 100), "RELU")
    a = np.array([[1, 2, 3], [-10, -20, -30]], np.int8)
    b = np.array([1, -5, 0], np.int8)
    assert run(g, a, b).tolist() == [[102, 100, 103], [100, 100, 100]]


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_matches_float_model_within_one_lsb(data):
    binary_matches_float(data, "ADD", 0.2, lambda rng, sa, sb: rng.uniform(0.5, 2.0) * (sa + sb),
                         lambda a, b: a + b, trim_b_rank=True)


def test_non_broadcastable_shapes_name_the_node():
    g = _add("ADD", (2, 3), (2,), (2, 3), "uint8", q(1.0, 0), q(1.0, 0), q(1.0, 0))
    with pytest.raises(IRError, match="add_under_test"):
        run(g, np.zeros((2, 3), np.uint8), np.zeros((2,), np.uint8))


def test_output_scale_too_small_is_refused():
    # twice_max / (2^20 * s_out) must be < 1: s_out = 1e-7 with input scale 1 is far below
    g = _add("ADD", (1,), (1,), (1,), "uint8", q(1.0, 0), q(1.0, 0), q(1e-7, 0))
    with pytest.raises(IRError, match="output multiplier"):
        run(g, np.zeros(1, np.uint8), np.zeros(1, np.uint8))
