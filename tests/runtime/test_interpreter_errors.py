"""Interpreter arguments and failures users cause: the graph argument, num_threads, a batch of 0, a kernel
that fails while preparing, memory that runs out (each an intq error naming what is wrong)."""
from __future__ import annotations

import numpy as np
import pytest

from intq.errors import AllocationError, ConfigError, InputError, IntqError, IRError
from intq.ir.ops import NoOptions
from intq.runtime.interpreter import MAX_THREADS, Interpreter
from intq.runtime.kernels import Kernel, kernel_set
from reference_cases import one_op, q

QQ = q(0.1, 4)


def _relu(shape=(1, 4, 4, 2)):
    return one_op("RELU", [("x", shape, "uint8", QQ)], [], (shape, "uint8", QQ), NoOptions())


def test_a_path_instead_of_a_graph_is_a_type_error_saying_to_load_it():
    with pytest.raises(TypeError, match=r"intq.Graph.*intq.load_tflite\(path\)"):
        Interpreter("model.tflite")
    with pytest.raises(TypeError, match="intq.Graph, got NoneType"):
        Interpreter(None)


@pytest.mark.parametrize("n", [0, -1, True, False, 2.0, "2", None, MAX_THREADS + 1, 2 ** 40])
def test_bad_num_threads_is_a_config_error_naming_the_limit(n):
    with pytest.raises(ConfigError, match=f"num_threads must be an integer from 1 to {MAX_THREADS}"):
        Interpreter(_relu(), num_threads=n)


@pytest.mark.parametrize("n", [np.int64(2), np.uint8(3), 1, MAX_THREADS])
def test_integral_num_threads_are_accepted(n):
    it = Interpreter(_relu(), num_threads=n)
    assert type(it.ctx.num_threads) is int and it.ctx.num_threads == int(n)
    assert it.run(np.zeros((1, 4, 4, 2), np.uint8))[0].shape == (1, 4, 4, 2)


@pytest.mark.parametrize("kernels", ["fast", "reference"])
def test_batch_of_zero_is_an_input_error_on_both_kernel_sets(kernels):
    it = Interpreter(_relu(), kernels=kernels)
    with pytest.raises(InputError, match="batch of 0 in input 'x'"):
        it.run(np.zeros((0, 4, 4, 2), np.uint8))


def test_attribute_error_in_prepare_is_an_ir_error_naming_the_node():
    def prepare(graph, node):
        return None.zero_point                          # what a missing quantization looked like

    with pytest.raises(IRError, match=r"node 'relu_under_test \(#0\)'.*cannot prepare RELU"):
        Interpreter(_relu(), kernels={"RELU": Kernel(prepare, lambda p, ins, ctx: ins)})


def test_running_out_of_memory_node_by_node_names_the_node_and_tensor():
    def run(p, ins, ctx):
        raise MemoryError()

    it = Interpreter(_relu(), kernels={"RELU": Kernel(lambda g, n: None, run)})
    with pytest.raises(AllocationError, match=r"'relu_under_test' \(#0\).*RELU at batch 3.*'y' uint8\[3, 4, 4, 2\]"):
        it.run(np.zeros((3, 4, 4, 2), np.uint8))


def test_running_out_of_memory_while_planning_names_the_tensor_shape_and_bytes(monkeypatch):
    plan = pytest.importorskip("intq.runtime.fast.plan", reason="fast kernels not built", exc_type=ImportError)
    real = plan.aligned_zeros

    def aligned_zeros(shape, dtype):
        if np.prod(shape) * np.dtype(dtype).itemsize >= 10_000:
            raise MemoryError()
        return real(shape, dtype)

    monkeypatch.setattr(plan, "aligned_zeros", aligned_zeros)
    with pytest.raises(AllocationError, match=r"tensor 'x' uint8\[1, 100, 100, 2\]: cannot allocate 20,000 bytes"):
        Interpreter(_relu((1, 100, 100, 2)), kernels=kernel_set("fast"))
    assert issubclass(AllocationError, MemoryError) and issubclass(AllocationError, IntqError)
