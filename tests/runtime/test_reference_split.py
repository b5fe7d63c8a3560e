"""Reference SPLIT: equal parts along a constant (negative) axis; batch may change; errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.ir.graph import Graph
from intq.ir.ops import SplitOptions
from intq.runtime.interpreter import Interpreter
from reference_cases import q
from strategies import shape_and_axis


def _graph(shape, axis, n, dtype="uint8", out_quant=None):
    qq = q(0.05, 3 if dtype == "uint8" else -3)
    g = Graph()
    g.add_tensor("x", shape, dtype, qq)
    g.add_constant("axis", np.array([axis], np.int32))
    part = list(shape)
    part[axis] //= n
    outs = [g.add_tensor(f"y{i}", part, dtype, out_quant or qq) for i in range(n)]
    g.add_node("SPLIT", ["axis", "x"], outs, SplitOptions(n), name="split_under_test")
    g.inputs, g.outputs = ["x"], outs
    return g


def test_hand_case():
    # [[0..5]] split in 3 along the last axis -> [0,1], [2,3], [4,5]
    ys = Interpreter(_graph((1, 6), -1, 3), kernels="reference").run(np.arange(6, dtype=np.uint8)[None])
    assert [y.tolist() for y in ys] == [[[0, 1]], [[2, 3]], [[4, 5]]]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_matches_numpy(data):
    shape, axis = shape_and_axis(data.draw, 3)
    n = data.draw(st.integers(1, 3))
    shape[axis] *= n
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    x = np.random.default_rng(2).integers(-100 if dtype == "int8" else 0, 100, shape).astype(dtype)
    ys = Interpreter(_graph(tuple(shape), axis, n, dtype), kernels="reference").run(x)
    for y, want in zip(ys, np.split(x, n, axis=axis)):
        assert y.dtype == x.dtype and np.array_equal(y, want)


def test_batch_may_differ():
    ys = Interpreter(_graph((1, 4), 1, 2), kernels="reference").run(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert ys[1].tolist() == [[2, 3], [6, 7], [10, 11]]


def test_errors():
    with pytest.raises(IRError, match="divisible"):
        g = _graph((1, 6), 1, 3)
        g.nodes[0].options = SplitOptions(3)
        g.tensors["x"].shape = (1, 7)
        Interpreter(g)
    with pytest.raises(IRError, match="quantization"):
        Interpreter(_graph((1, 6), 1, 2, out_quant=q(0.1, 3)))
