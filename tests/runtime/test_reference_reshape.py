"""Reference RESHAPE (shape tensor, new_shape option, -1, batch change) and SQUEEZE; errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import InputError, IRError
from intq.ir.ops import ReshapeOptions, SoftmaxOptions, SqueezeOptions
from intq.runtime.interpreter import Interpreter
from reference_cases import one_op, q, run

QQ = q(0.1, 4)


def _reshape(shape, out, shape_tensor=None, new_shape=None, out_quant=QQ):
    consts = [] if shape_tensor is None else [("shape", np.array(shape_tensor, np.int32), None)]
    return one_op("RESHAPE", [("x", shape, "uint8", QQ)], consts, (out, "uint8", out_quant),
                  ReshapeOptions(None if new_shape is None else tuple(new_shape)))


def test_shape_tensor_with_minus_one():
    # [1, 2, 3, 4] -> shape tensor [1, -1]: -1 = 24 / 1
    x = np.arange(24, dtype=np.uint8).reshape(1, 2, 3, 4)
    assert np.array_equal(run(_reshape((1, 2, 3, 4), (1, 24), [1, -1]), x), x.reshape(1, 24))


def test_new_shape_option_and_output_shape_fallback():
    x = np.arange(6, dtype=np.uint8).reshape(1, 6)
    assert run(_reshape((1, 6), (1, 2, 3), new_shape=(1, 2, -1)), x).shape == (1, 2, 3)
    assert run(_reshape((1, 6), (1, 3, 2)), x).shape == (1, 3, 2)


def test_batch_may_differ_from_stored_shape():
    # stored [1, 2, 2, 1] -> [1, 4]; a batch of 3 gives [3, 4] (first dim inferred)
    g = _reshape((1, 2, 2, 1), (1, 4), [1, 4])
    x = np.arange(12, dtype=np.uint8).reshape(3, 2, 2, 1)
    assert np.array_equal(Interpreter(g, kernels="reference").run(x)[0], x.reshape(3, 4))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_reshape_matches_numpy(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    size = int(np.prod(shape))
    dims = [d for d in range(1, size + 1) if size % d == 0]
    first = data.draw(st.sampled_from(dims))
    target = (first, size // first)
    spec = list(target)
    spec[data.draw(st.integers(0, 1))] = -1
    x = np.random.default_rng(4).integers(0, 255, shape).astype(np.uint8)
    assert np.array_equal(run(_reshape(shape, target, spec), x), x.reshape(target))


def test_squeeze():
    x = np.arange(6, dtype=np.uint8).reshape(1, 2, 1, 3)
    g = one_op("SQUEEZE", [("x", (1, 2, 1, 3), "uint8", QQ)], [], ((1, 2, 3), "uint8", QQ), SqueezeOptions((-2,)))
    assert np.array_equal(run(g, x), x.reshape(1, 2, 3))
    g_all = one_op("SQUEEZE", [("x", (1, 2, 1, 3), "uint8", QQ)], [], ((2, 3), "uint8", QQ), SqueezeOptions())
    assert np.array_equal(run(g_all, x), x.reshape(2, 3))


def test_errors():
    with pytest.raises(IRError, match="cannot become"):
        Interpreter(_reshape((1, 6), (1, 5), [1, 5]))
    with pytest.raises(IRError, match="one -1"):
        Interpreter(_reshape((1, 6), (1, 6), [-1, -1]))
    with pytest.raises(IRError, match="quantization"):
        Interpreter(_reshape((1, 6), (6,), [6], out_quant=q(0.1, 5)))
    with pytest.raises(IRError, match="not 1"):
        Interpreter(one_op("SQUEEZE", [("x", (1, 2), "uint8", QQ)], [], ((1,), "uint8", QQ), SqueezeOptions((1,))))


def _then_softmax(g):
    """``g`` (one node, output y) followed by SOFTMAX over y: the op that shows a batch folded into a row."""
    sq = q(1 / 256, 0)
    g.add_tensor("p", g.tensor("y").shape, "uint8", sq)
    g.add_node("SOFTMAX", ["y"], ["p"], SoftmaxOptions(beta=1.0), name="softmax")
    g.outputs = ["p"]
    return g


# graphs whose shape op does not keep dimension 0 as the batch: another batch would mix samples
_BATCH_FOLDING = {
    "reshape to rank 1": lambda: _then_softmax(_reshape((1, 1, 1, 10), (10,), [10])),
    "reshape [1,4] -> [2,2]": lambda: _reshape((1, 4), (2, 2), [2, 2]),
    "squeeze every size-1 dim": lambda: _then_softmax(
        one_op("SQUEEZE", [("x", (1, 1, 1, 10), "uint8", QQ)], [], ((10,), "uint8", QQ), SqueezeOptions())),
    "squeeze dim 0": lambda: one_op("SQUEEZE", [("x", (1, 4), "uint8", QQ)], [], ((4,), "uint8", QQ),
                                    SqueezeOptions((0,))),
}


@pytest.mark.parametrize("kernels", ["fast", "reference"])
@pytest.mark.parametrize("case", list(_BATCH_FOLDING))
def test_shape_op_folding_the_batch_refuses_another_batch(case, kernels):
    g = _BATCH_FOLDING[case]()
    it = Interpreter(g, kernels=kernels)
    shape = g.tensor("x").shape
    x1 = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    it.run(x1)                                                   # the graph's own batch runs
    with pytest.raises(InputError, match=r"node '(reshape|squeeze)_under_test \(#0\)'.*batch"):
        it.run(np.concatenate([x1, x1]))
    with pytest.raises(InputError, match="under_test"):         # again: no plan was made of the failed run
        it.run(np.concatenate([x1, x1]))


@pytest.mark.parametrize("kernels", ["fast", "reference"])
def test_batch_keeping_reshape_and_squeeze_run_any_batch(kernels):
    rs = np.random.default_rng(0)
    g = _then_softmax(_reshape((1, 1, 1, 10), (1, 10), [1, 10]))
    gs = _then_softmax(one_op("SQUEEZE", [("x", (1, 1, 1, 10), "uint8", QQ)], [], ((1, 10), "uint8", QQ),
                              SqueezeOptions((1, 2))))
    for graph in (g, gs):
        it = Interpreter(graph, kernels=kernels)
        x = rs.integers(0, 256, (3, 1, 1, 10)).astype(np.uint8)
        y = it.run(x)[0]
        assert y.shape == (3, 10)
        assert np.array_equal(y, np.concatenate([it.run(x[i:i + 1])[0] for i in range(3)]))
