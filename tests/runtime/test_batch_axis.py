"""At a batch size other than the graph's, the Interpreter refuses nodes that work across dimension 0 and inputs
of differing batch sizes (both kernel sets), found by a fuzzer: a SPLIT along axis 0 returned empty pieces from
the fast kernels and a raw ValueError from the reference ones; a CONCATENATION of a batch-5 and a batch-1 input
read past the smaller one."""
from __future__ import annotations

import numpy as np
import pytest

from intq.errors import InputError
from intq.ir.graph import Graph
from intq.ir.ops import OP_OPTIONS
from intq.ir.tensor import Quantization
from intq.runtime.interpreter import Interpreter
from reference_cases import one_op, q

KERNELS = ["reference", "fast"]


def _split_graph(axis: int) -> Graph:
    g = Graph()
    g.add_tensor("x", (3, 4), "uint8", q(0.1, 3))
    g.add_constant("axis", np.array(axis, np.int32))
    shape = (1, 4) if axis == 0 else (3, 2)
    for i in range(3 if axis == 0 else 2):
        g.add_tensor(f"y{i}", shape, "uint8", q(0.1, 3))
    g.add_node("SPLIT", ["axis", "x"], [f"y{i}" for i in range(3 if axis == 0 else 2)],
               OP_OPTIONS["SPLIT"](num_splits=3 if axis == 0 else 2))
    g.inputs, g.outputs = ["x"], [f"y{i}" for i in range(3 if axis == 0 else 2)]
    return g


@pytest.mark.parametrize("kernels", KERNELS)
def test_split_along_the_batch_axis_is_refused_at_another_batch(kernels):
    it = Interpreter(_split_graph(0), kernels=kernels, num_threads=2)
    x = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert [y.tolist() for y in it.run(x)] == [[r] for r in x.tolist()]            # its own batch: fine
    for batch in (2, 5, 6):
        with pytest.raises(InputError, match=r"'split:y0' \(SPLIT\) splits dimension 0.*batch"):
            it.run(np.zeros((batch, 4), np.uint8))


@pytest.mark.parametrize("kernels", KERNELS)
def test_split_along_another_axis_still_runs_at_another_batch(kernels):
    it = Interpreter(_split_graph(1), kernels=kernels)
    x = np.arange(20, dtype=np.uint8).reshape(5, 4)
    for _ in range(2):                                     # node by node, then the plan for batch 5
        a, b = it.run(x)
        assert np.array_equal(a, x[:, :2]) and np.array_equal(b, x[:, 2:])


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("op,extra,options,out_shape", [
    ("CONCATENATION", [], OP_OPTIONS["CONCATENATION"](axis=0), (4, 3)),
])
def test_ops_across_the_batch_axis_are_refused_at_another_batch(op, extra, options, out_shape, kernels):
    ins = [("x", (2, 3), "uint8", q(0.1, 3))] + ([("x2", (2, 3), "uint8", q(0.1, 3))] if op == "CONCATENATION" else [])
    g = one_op(op, ins, extra, (out_shape, "uint8", q(0.1, 3)), options)
    it = Interpreter(g, kernels=kernels)
    xs = [np.ones((2, 3), np.uint8)] * len(ins)
    it.run(*xs)
    with pytest.raises(InputError, match=rf"\({op}\) .*dimension 0.*cannot run at batch 3"):
        it.run(*[np.ones((3, 3), np.uint8)] * len(ins))


@pytest.mark.parametrize("kernels", KERNELS)
def test_inputs_of_different_batch_sizes_are_refused(kernels):
    g = Graph()
    g.add_tensor("a", (1, 3), "uint8", Quantization.per_tensor(0.05, 10))
    g.add_tensor("b", (1, 4), "uint8", Quantization.per_tensor(0.07, 20))
    g.add_tensor("y", (1, 7), "uint8", Quantization.per_tensor(0.05, 10))
    g.add_node("CONCATENATION", ["a", "b"], ["y"], OP_OPTIONS["CONCATENATION"](axis=1))
    g.inputs, g.outputs = ["a", "b"], ["y"]
    it = Interpreter(g, kernels=kernels, num_threads=2)
    with pytest.raises(InputError, match=r"must share one batch size.*'a' \[5, 3\], 'b' \[1, 4\]"):
        it.run(np.full((5, 3), 200, np.uint8), np.full((1, 4), 30, np.uint8))
    y = it.run(np.full((5, 3), 200, np.uint8), np.full((5, 4), 30, np.uint8))[0]     # one batch: runs
    assert y.shape == (5, 7)


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("op", ["ADD", "MUL"])
def test_a_constant_operand_along_the_batch_is_refused_at_another_batch(op, kernels):
    g = one_op(op, [("a", (2, 3), "uint8", q(0.05, 128))],
               [("b", np.arange(6, dtype=np.uint8).reshape(2, 3), q(0.05, 128))],
               ((2, 3), "uint8", q(0.1, 128)), OP_OPTIONS[op]())
    it = Interpreter(g, kernels=kernels)
    it.run(np.full((2, 3), 130, np.uint8))
    with pytest.raises(InputError, match=r"takes the constant 'b' of shape \[2, 3\] along dimension 0"):
        it.run(np.full((3, 3), 130, np.uint8))


@pytest.mark.parametrize("kernels", KERNELS)
def test_fully_connected_input_that_is_not_whole_rows_is_an_input_error(kernels):
    """A rank-1 FULLY_CONNECTED input at another length: 8 codes are two rows of depth 4, 5 are not (a raw
    reshape ValueError before)."""
    w = np.arange(12, dtype=np.uint8).reshape(3, 4)
    g = one_op("FULLY_CONNECTED", [("x", (4,), "uint8", q(0.05, 10))], [("w", w, q(0.02, 5)), ("b", np.zeros(3, np.int32), q(0.05 * 0.02, 0))],
               ((1, 3), "uint8", q(0.5, 0)), OP_OPTIONS["FULLY_CONNECTED"]())
    it = Interpreter(g, kernels=kernels)
    assert it.run(np.arange(8, dtype=np.uint8))[0].shape == (2, 3)
    with pytest.raises(InputError, match=r"FULLY_CONNECTED input of shape \[5\] is not whole rows of its depth 4"):
        it.run(np.arange(5, dtype=np.uint8))
