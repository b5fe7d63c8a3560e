"""Reference TRANSPOSE: matches np.transpose for any permutation; errors name the perm tensor."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IRError
from intq.runtime.interpreter import Interpreter
from reference_cases import one_op, q, run


def _graph(shape, perm, dtype="uint8", out_quant=None):
    out_shape = tuple(shape[p] for p in perm)
    qq = q(0.1, 7 if dtype == "uint8" else -7)
    return one_op("TRANSPOSE", [("x", shape, dtype, qq)], [("perm", np.array(perm, np.int32), None)],
                  (out_shape, dtype, out_quant or qq))


def test_hand_case_nhwc_to_nchw():
    # x[0, h, w, c] = 100*h + 10*w + c (as uint8 mod 256 is not needed: max 123); NHWC -> NCHW puts c first
    x = np.array([[[[100 * h + 10 * w + c for c in range(3)] for w in range(2)] for h in range(2)]], np.uint8)
    y = run(_graph((1, 2, 2, 3), (0, 3, 1, 2)), x)
    assert y.shape == (1, 3, 2, 2)
    assert y[0, 2, 1, 0] == 100 * 1 + 10 * 0 + 2      # out[n, c, h, w] = in[n, h, w, c]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_matches_numpy(data):
    rank = data.draw(st.integers(1, 5))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    perm = tuple(data.draw(st.permutations(range(rank))))
    dtype = data.draw(st.sampled_from(["uint8", "int8"]))
    x = np.random.default_rng(0).integers(-128 if dtype == "int8" else 0, 128, shape).astype(dtype)
    assert np.array_equal(run(_graph(shape, perm, dtype), x), np.transpose(x, perm))


def test_batch_may_differ_when_batch_stays_first():
    g = _graph((1, 2, 3), (0, 2, 1))
    x = np.arange(4 * 6, dtype=np.uint8).reshape(4, 2, 3)
    assert np.array_equal(Interpreter(g, kernels="reference").run(x)[0], x.transpose(0, 2, 1))


def test_errors():
    with pytest.raises(IRError, match="perm"):
        Interpreter(one_op("TRANSPOSE", [("x", (2, 3), "uint8", q(0.1, 0))],
                           [("perm", np.array([0, 0], np.int32), None)], ((2, 3), "uint8", q(0.1, 0))))
    with pytest.raises(IRError, match="quantization"):
        Interpreter(_graph((2, 3), (1, 0), out_quant=q(0.2, 0)))
