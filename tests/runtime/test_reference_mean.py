"""Reference MEAN: hand-computed case, axes handling, float-model property test, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import ReducerOptions
from intq.scheme.requant import mean_multiplier
from reference_cases import dequant, one_op, q, run, within_one_lsb


def _mean(x_shape, axes, out_shape, dtype="uint8", xq=None, yq=None, keep_dims=False):
    return one_op("MEAN", [("x", x_shape, dtype, xq or q(1.0, 0))], [("axes", np.array(axes, np.int32), None)],
                  (out_shape, dtype, yq or q(1.0, 0)), ReducerOptions(keep_dims))


def test_hand_computed_global_average():
    # 1x2x2x1 -> sum 1+2+3+5 = 11, N = 4; M = 1 -> (2^30, 1); s = log2(4) = 2: M' = (2^30 << 2) / 4 = 2^30,
    # shift' = 1 - 2 = -1: MBQM(11, 2^30, -1) = round(11 / 4) = round(2.75) = 3
    g = _mean((1, 2, 2, 1), [1, 2], (1, 1, 1, 1), keep_dims=True)
    assert run(g, np.array([1, 2, 3, 5], np.uint8).reshape(1, 2, 2, 1)).item() == 3
    assert mean_multiplier(1 << 30, 1, 4) == (1 << 30, -1)


def test_n_not_a_power_of_two():
    # N = 3: s = 1, M' = (2^30 << 1) // 3 = 715827882, shift' = 0; sum(1, 2, 4) - 0 = 7 -> 7 * 0.3333 = 2.33 -> 2
    assert mean_multiplier(1 << 30, 1, 3) == ((1 << 31) // 3, 0)
    g = _mean((1, 3), [1], (1,))
    assert run(g, np.array([[1, 2, 4]], np.uint8)).tolist() == [2]


def test_negative_and_repeated_axes_with_zero_points():
    # int8, zp_in -10, zp_out 3, same scale: mean over last axis of [-10, -6] is (0 + 4)/2 = 2 real units -> 2 + 3
    g = _mean((1, 2), [-1, 1], (1,), "int8", q(0.5, -10), q(0.5, 3))
    assert run(g, np.array([[-10, -6]], np.int8)).tolist() == [5]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_matches_float_model_within_one_lsb(data):
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    rank = data.draw(st.integers(2, 4))
    shape = tuple(data.draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    axes = data.draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))
    keep = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    lo, hi = (0, 255) if dtype == "uint8" else (-128, 127)
    s_in, z_in = float(np.float32(rng.uniform(0.01, 0.1))), int(rng.integers(lo, hi + 1))
    s_out, z_out = float(np.float32(s_in * rng.uniform(0.5, 2.0))), int(rng.integers(lo, hi + 1))
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keep else \
        tuple(d for i, d in enumerate(shape) if i not in axes)
    g = _mean(shape, axes, out_shape, dtype, q(s_in, z_in), q(s_out, z_out), keep)
    x = rng.integers(lo, hi + 1, shape).astype(dtype)
    real = dequant(x, s_in, z_in).mean(axis=tuple(axes), keepdims=keep)
    within_one_lsb(run(g, x), real, s_out, z_out, dtype)


def test_wrong_output_shape_names_the_node():
    g = _mean((1, 4, 4, 2), [1, 2], (1, 1, 1, 2))          # keep_dims False wants [1, 2]
    with pytest.raises(IRError, match="mean_under_test"):
        run(g, np.zeros((1, 4, 4, 2), np.uint8))


def test_axis_out_of_range():
    g = _mean((1, 4), [2], (1, 4))
    with pytest.raises(IRError, match="out of range"):
        run(g, np.zeros((1, 4), np.uint8))
