"""Reference SOFTMAX (gemmlowp fixed point, uint8 and int8): hand cases, diff_min cut-off, float model, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import SoftmaxOptions
from intq.runtime.interpreter import Interpreter
from intq.runtime.reference.softmax import calculate_input_radius, softmax_scaling
from reference_cases import one_op, q, run


def _graph(shape, scale, dtype="uint8", beta=1.0, out_quant=None):
    zo = 0 if dtype == "uint8" else -128
    return one_op("SOFTMAX", [("x", shape, dtype, q(scale, 0))], [], (shape, dtype, out_quant or q(1 / 256, zo)),
                  SoftmaxOptions(beta))


def test_scaling_parameters():
    # beta * s * 2^26 = 0.1 * 2^26 = 6710886.4 = 0.8 * 2^23: M0 = round(0.8 * 2^31) = 1717986918, shift 23;
    # radius = floor(31 * 2^26 / 2^23) = 248 -> input differences below -248 codes (-24.8 real) contribute 0
    assert softmax_scaling(1.0, 0.1) == (1717986918, 23, -248)
    assert calculate_input_radius(4, 0) == 15 << 27


def test_hand_cases_uint8_and_int8():
    # equal logits -> 1/4 each -> 64/256; uint8 [255, 0, 10, 255] scale 0.1: 0 and 10 are 24.5+ below the max
    # (diff < -248 is skipped, exp(-24.5) ~ 2e-11 rounds to 0 anyway) -> 128, 0, 0, 128
    g = _graph((2, 4), 0.1)
    y = run(g, np.array([[7, 7, 7, 7], [255, 0, 10, 255]], np.uint8))
    assert y.tolist() == [[64, 64, 64, 64], [128, 0, 0, 128]]
    # int8: same probabilities, codes shifted by the -128 zero point
    y8 = run(_graph((2, 4), 0.1, "int8"), np.array([[7, 7, 7, 7], [127, -128, -118, 127]], np.int8))
    assert y8.tolist() == [[-64, -64, -64, -64], [0, -128, -128, 0]]


def test_single_winner_saturates_to_255():
    # one element: probability 1.0 = 256/256 -> clamped to 255 (uint8) / 127 (int8)
    assert run(_graph((1, 1), 0.5), np.array([[3]], np.uint8)).tolist() == [[255]]
    assert run(_graph((1, 1), 0.5, "int8"), np.array([[3]], np.int8)).tolist() == [[127]]


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(0.01, 1.0), beta=st.floats(0.25, 3.0), depth=st.integers(1, 40),
       dtype=st.sampled_from(["uint8", "int8"]), seed=st.integers(0, 2 ** 16))
def test_within_half_lsb_of_float_softmax(scale, beta, depth, dtype, seed):
    # measured: max |y - 256 * softmax| = 0.49997 LSB over 300 random cases; the bound allows float noise
    lo = 0 if dtype == "uint8" else -128
    x = np.random.default_rng(seed).integers(lo, lo + 256, (3, depth)).astype(dtype)
    y = run(_graph((3, depth), scale, dtype, beta), x).astype(np.float64) - lo
    z = beta * float(np.float32(scale)) * x.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    assert np.abs(y - np.clip(256 * p, 0, 255)).max() <= 0.55


def test_int8_equals_uint8_minus_128():
    # only differences to the row max matter: the same logits in either dtype give codes 128 apart
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (5, 9))
    y = run(_graph((5, 9), 0.07, beta=1.5), x.astype(np.uint8)).astype(int)
    y8 = run(_graph((5, 9), 0.07, "int8", beta=1.5), (x - 128).astype(np.int8)).astype(int)
    assert np.array_equal(y - 128, y8)


def test_errors():
    with pytest.raises(IRError, match="scale 1/256"):
        Interpreter(_graph((1, 4), 0.1, out_quant=q(1 / 128, 0)))
    with pytest.raises(IRError, match="zero point -128"):
        Interpreter(_graph((1, 4), 0.1, "int8", out_quant=q(1 / 256, 0)))


def test_too_flat_rows_give_zero_instead_of_aborting():
    # 1000 equal logits: sum of exps = 1000 >= 512 -> k = 32 > 31, where LiteRT's TFLITE_CHECK aborts.
    # Each p = 1/1000 = 0.256 LSB of 1/256 -> rounds to 0 (code 0 / -128).
    assert np.all(run(_graph((1, 1000), 0.1), np.full((1, 1000), 9, np.uint8)) == 0)
    assert np.all(run(_graph((1, 1000), 0.1, "int8"), np.full((1, 1000), 9, np.int8)) == -128)
    # 300 equal logits (sum 300 < 512, k = 31) still run the normal path: 256 / 300 = 0.853 -> 1
    assert np.all(run(_graph((1, 300), 0.1), np.full((1, 300), 9, np.uint8)) == 1)
