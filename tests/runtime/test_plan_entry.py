"""The plan's one-call C entry (csrc/python/intq_entry.c, Plan.entry): the bytes of Plan.run for exactly the
planned inputs, None for anything else (which the Interpreter's checked path then takes), buffers released, the plan's
lock shared with Plan.run, fresh outputs every run."""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from intq.ir import Graph
from intq.ir.ops import OP_OPTIONS
from intq.runtime.interpreter import Interpreter
from reference_cases import q
from strategies import RANGES

pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast._lib import PLAN_WORDS, RUN_PLAN_AT, PlanEntry  # noqa: E402

pytestmark = pytest.mark.skipif(PlanEntry is None, reason="the plan's C entry (_intq_entry) is not built")


def add_graph(dtype: str, shape: tuple, relu: bool = False) -> Graph:
    """Two inputs, two outputs: y = ADD(a, b) and y2 = ADD(a, a)."""
    lo, _ = RANGES[dtype]
    g = Graph()
    g.add_tensor("a", shape, dtype, q(0.05, lo + 100))
    g.add_tensor("b", shape, dtype, q(0.02, lo + 140))
    g.add_tensor("y", shape, dtype, q(0.06, lo + 120))
    g.add_tensor("y2", shape, dtype, q(0.09, lo + 110))
    g.add_node("ADD", ["a", "b"], ["y"], OP_OPTIONS["ADD"](activation="RELU" if relu else "NONE"))
    g.add_node("ADD", ["a", "a"], ["y2"], OP_OPTIONS["ADD"]())
    g.inputs, g.outputs = ["a", "b"], ["y", "y2"]
    return g


def _inputs(dtype: str, shape: tuple, seed: int):
    lo, hi = RANGES[dtype]
    r = np.random.default_rng(seed)
    return [r.integers(lo, hi + 1, shape).astype(dtype) for _ in range(2)]


# (1, 4, 4, 8): 128-byte tensors, copied by the entry (memmove, .copy()); (1, 32, 32, 8): 8 KB, which the
# plan's C call copies itself (the entry points its copy records at the input and at a new output)
SHAPES = [(1, 4, 4, 8), (1, 32, 32, 8)]


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("shape", SHAPES)
def test_entry_gives_plan_run_and_reference_bytes(dtype, shape):
    g = add_graph(dtype, shape, relu=True)
    it, ref = Interpreter(g), Interpreter(g, kernels="reference")
    plan = it._plan
    assert plan is not None and plan.entry is not None and it._entry is plan.entry
    for seed in range(4):
        a, b = _inputs(dtype, shape, seed)
        want = ref.run(a, b)
        got = plan.entry(a, b)
        assert isinstance(got, list) and len(got) == 2
        for y, w in zip(got, want):
            assert type(y) is np.ndarray and y.dtype == w.dtype and y.shape == w.shape and np.array_equal(y, w)
        assert all(np.array_equal(y, w) for y, w in zip(plan.run([a, b]), want))


@pytest.mark.parametrize("shape", SHAPES)
def test_entry_outputs_are_new_arrays_each_run(shape):
    g = add_graph("uint8", shape)
    it, ref = Interpreter(g), Interpreter(g, kernels="reference")
    first_in = _inputs("uint8", shape, 1)
    first = it._entry(*first_in)
    second = it._entry(*_inputs("uint8", shape, 2))
    for y in first + second:
        assert y.flags.owndata and y.flags.writeable and y.flags.c_contiguous
        assert not any(np.shares_memory(y, p) for p in it._plan.outputs + it._plan.inputs)
    assert not np.shares_memory(first[0], second[0])
    assert all(np.array_equal(y, w) for y, w in zip(first, ref.run(*first_in)))   # not overwritten by the 2nd run


@pytest.mark.parametrize("shape", SHAPES)
def test_entry_declines_what_is_not_exactly_the_planned_inputs(shape):
    """None (no exception) for: a wrong count, keywords, another shape or batch, another dtype of the same or
    another width, a non-contiguous array, objects without a buffer; the Interpreter then takes its checked path
    (the same bytes, or InputError)."""
    from intq.errors import InputError
    g = add_graph("uint8", shape)
    it, ref = Interpreter(g), Interpreter(g, kernels="reference")
    entry = it._entry
    a, b = _inputs("uint8", shape, 3)
    strided = np.repeat(b, 2, axis=3)[..., ::2]
    declined = [(a,), (a, b, b), (a, b.reshape(-1)), (a, b.reshape(1, 2 * shape[1], shape[2] // 2, 8)),
                (a, np.concatenate([b, b])), (a, b.view(np.int8)),
                (a, b.astype(np.int16)), (a, strided), (a, b.tolist()), (a, None), (a, bytes(b.nbytes))]
    for args in declined:
        assert entry(*args) is None, [type(x) for x in args]
    assert entry(a, b=b) is None
    assert all(np.array_equal(y, w) for y, w in zip(it.run(a, strided), ref.run(a, strided)))
    for args in declined[:4] + declined[5:7] + declined[8:]:         # not the other batch, the strided one
        with pytest.raises(InputError):
            it.run(*args)


def test_entry_accepts_read_only_inputs_and_the_planned_buffers_themselves():
    shape = SHAPES[0]
    g = add_graph("uint8", shape)
    it, ref = Interpreter(g), Interpreter(g, kernels="reference")
    a, b = _inputs("uint8", shape, 4)
    a.flags.writeable = False
    want = ref.run(a, b)
    assert all(np.array_equal(y, w) for y, w in zip(it._entry(a, b), want))
    planned_a, planned_b = it._plan.inputs
    planned_a[...], planned_b[...] = a, b
    assert all(np.array_equal(y, w) for y, w in zip(it._entry(planned_a, planned_b), want))   # memmove onto itself


@pytest.mark.parametrize("shape", SHAPES)
def test_entry_releases_every_buffer_it_takes(shape):
    """No input's reference count grows over runs, accepted or declined (a view left unreleased would pin the
    array and leak it)."""
    g = add_graph("uint8", shape)
    entry = Interpreter(g)._entry
    a, b = _inputs("uint8", shape, 5)
    wrong = np.zeros((2,) + shape[1:], np.uint8)
    before = [sys.getrefcount(x) for x in (a, b, wrong)]
    for _ in range(50):
        assert entry(a, b) is not None
        assert entry(a, wrong) is None
        assert entry(wrong, b) is None
    assert [sys.getrefcount(x) for x in (a, b, wrong)] == before
    y = entry(a, b)
    assert [sys.getrefcount(o) for o in y] == [sys.getrefcount(o) for o in [np.empty(1), np.empty(1)]]


def test_entry_shares_the_plan_lock():
    """While another caller holds the plan (its lock), the entry and Plan.run decline and the Interpreter runs
    node by node; four threads running one Interpreter at once (each run that finds the plan busy goes node by
    node) all get the reference bytes."""
    shape = SHAPES[1]
    g = add_graph("uint8", shape)
    it, ref = Interpreter(g, num_threads=2), Interpreter(g, kernels="reference")
    plan = it._plan
    a, b = _inputs("uint8", shape, 6)
    with plan._lock:
        assert plan.entry(a, b) is None
        assert plan.run([a, b]) is None
        got = it.run(a, b)                                    # node by node
    assert all(np.array_equal(y, w) for y, w in zip(got, ref.run(a, b)))
    assert plan.entry(a, b) is not None                       # the lock was released

    def worker(k):                                            # 30 runs of its own inputs
        xs = _inputs("uint8", shape, 100 + k)
        return xs, [it.run(*xs) for _ in range(30)]

    with ThreadPoolExecutor(4) as pool:                       # a worker's exception is raised here
        done = list(pool.map(worker, range(4)))
    for xs, runs in done:
        want = ref.run(*xs)
        assert all(all(np.array_equal(y, w) for y, w in zip(outs, want)) for outs in runs)


def test_entry_and_plan_run_alternate_with_different_inputs():
    """Plan.run and the entry both set the large inputs' copy records on every run: Plan.run given the same
    arrays as in its last run reads them, not the ones the entry ran in between."""
    shape = SHAPES[1]
    g = add_graph("uint8", shape)
    it, ref = Interpreter(g), Interpreter(g, kernels="reference")
    plan = it._plan
    x1, x2 = _inputs("uint8", shape, 201), _inputs("uint8", shape, 202)
    want1, want2 = ref.run(*x1), ref.run(*x2)
    for _ in range(2):
        assert all(np.array_equal(y, w) for y, w in zip(plan.run(x1), want1))
        assert all(np.array_equal(y, w) for y, w in zip(plan.entry(*x2), want2))
    assert all(np.array_equal(y, w) for y, w in zip(plan.run(x1), want1))


def test_entry_rejects_bad_construction():
    a = np.zeros((1, 4), np.uint8)
    table = np.zeros((1, PLAN_WORDS), np.int64)
    lock = threading.Lock()
    ok = (RUN_PLAN_AT, table, PLAN_WORDS, [a], [-1], [a], [-1], lambda: lock.acquire(False), lock.release,
          np.empty_like)
    assert PlanEntry(*ok) is not None
    strided = np.zeros((1, 8), np.uint8)[:, ::2]
    for k, bad in ((0, 0), (4, [a, a]), (4, "a"), (5, [3]), (6, [1]), (2, 2), (3, [strided]), (1, table[:, ::2]),
                   (1, table.astype(np.int32)), (1, [0] * 16)):
        args = list(ok)
        args[k] = bad
        with pytest.raises((ValueError, TypeError)):
            PlanEntry(*args)
