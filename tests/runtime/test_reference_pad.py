"""Reference PAD: pads with the output zero point (real 0), int32/int64 paddings, batch padding, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.runtime.interpreter import Interpreter
from reference_cases import one_op, q, run


def _graph(shape, pads, dtype="uint8", zp=9, pad_dtype=np.int32, out_quant=None):
    out = tuple(d + a + b for d, (a, b) in zip(shape, pads))
    qq = q(0.1, zp)
    return one_op("PAD", [("x", shape, dtype, qq)], [("paddings", np.array(pads, pad_dtype), None)],
                  (out, dtype, out_quant or qq))


def test_pads_with_zero_point():
    # uint8 zp 9 encodes 0.0: [[1, 2]] padded by one column left and right -> [[9, 1, 2, 9]]
    assert run(_graph((1, 2), [[0, 0], [1, 1]]), np.array([[1, 2]], np.uint8)).tolist() == [[9, 1, 2, 9]]
    # int8 zp -128 with int64 paddings
    y = run(_graph((1, 1), [[0, 0], [2, 0]], "int8", -128, np.int64), np.array([[5]], np.int8))
    assert y.tolist() == [[-128, -128, 5]]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_matches_numpy(data):
    rank = data.draw(st.integers(1, 4))
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    pads = [[data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))] for _ in range(rank)]
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    zp = data.draw(st.integers(0, 255) if dtype == "uint8" else st.integers(-128, 127))
    x = np.random.default_rng(3).integers(-128 if dtype == "int8" else 0, 128, shape).astype(dtype)
    y = run(_graph(shape, pads, dtype, zp), x)
    assert np.array_equal(y, np.pad(x, pads, constant_values=zp))


def test_batch_may_differ_and_be_padded():
    g = _graph((1, 2), [[1, 0], [0, 1]], zp=0)
    y = Interpreter(g, kernels="reference").run(np.array([[1, 2], [3, 4]], np.uint8))[0]
    assert y.tolist() == [[0, 0, 0], [1, 2, 0], [3, 4, 0]]


def test_errors():
    with pytest.raises(IRError, match=r"paddings must be >= 0"):
        Interpreter(one_op("PAD", [("x", (1, 2), "uint8", q(0.1, 0))],
                           [("paddings", np.array([[0, 0], [-1, 1]], np.int32), None)], ((1, 2), "uint8", q(0.1, 0))))
    with pytest.raises(IRError, match=r"\[2, 2\]"):
        Interpreter(one_op("PAD", [("x", (1, 2), "uint8", q(0.1, 0))],
                           [("paddings", np.array([[0, 0]], np.int32), None)], ((1, 2), "uint8", q(0.1, 0))))
    with pytest.raises(IRError, match="quantization"):
        Interpreter(_graph((1, 2), [[0, 0], [1, 1]], out_quant=q(0.2, 9)))
