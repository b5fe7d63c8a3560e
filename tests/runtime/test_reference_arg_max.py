"""Reference ARG_MAX: first index on ties, negative axis, int32/int64 outputs, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.ops import ArgMaxOptions
from intq.runtime.interpreter import Interpreter
from reference_cases import one_op, q, run
from strategies import shape_and_axis


def _graph(shape, axis, dtype="uint8", out_type="int32", out_dtype=None):
    out_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    return one_op("ARG_MAX", [("x", shape, dtype, q(0.1, 0) if dtype != "int32" else None)],
                  [("axis", np.array([axis], np.int32), None)], (out_shape, out_dtype or out_type, None),
                  ArgMaxOptions(out_type))


def test_ties_give_first_index():
    # std::greater keeps the earlier maximum: [3, 9, 9, 1] -> 1 ; int8 [-5, -5] -> 0
    assert run(_graph((1, 4), -1), np.array([[3, 9, 9, 1]], np.uint8)).tolist() == [1]
    y = run(_graph((2, 2), 1, "int8", "int64"), np.array([[-5, -5], [-9, -8]], np.int8))
    assert y.dtype == np.int64 and y.tolist() == [0, 1]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_matches_numpy(data):
    shape, axis = shape_and_axis(data.draw, 4)
    shape = tuple(shape)
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    out_type = data.draw(st.sampled_from(["int32", "int64"]))
    x = np.random.default_rng(1).integers(-3 if dtype == "int8" else 0, 3, shape).astype(dtype)   # many ties
    y = run(_graph(shape, axis, dtype, out_type), x)
    assert y.dtype == np.dtype(out_type) and np.array_equal(y, np.argmax(x, axis=axis))


def test_errors():
    with pytest.raises(IRError, match="axis"):
        Interpreter(one_op("ARG_MAX", [("x", (2, 3), "uint8", q(0.1, 0))], [("axis", np.array([2], np.int32), None)],
                           ((2,), "int32", None), ArgMaxOptions("int32")))     # axis 2 of a rank-2 input
    with pytest.raises(IRError, match="output_type"):
        Interpreter(_graph((2, 3), 1, out_type="int32", out_dtype="int64"))
