"""The worker pool behind num_threads (csrc/intq_threads.c): same bytes from concurrent callers and after fork."""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from intq.ir import Graph
from intq.ir.ops import OP_OPTIONS
from intq.runtime.interpreter import Interpreter
from reference_cases import one_op, q

pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)


def _graph():
    """A 1x1 conv big enough to be split over 2 threads (28x28x256 -> 256: 51M MACs)."""
    w = np.random.default_rng(0).integers(1, 256, (256, 1, 1, 256)).astype(np.uint8)
    return one_op("CONV_2D", [("x", (1, 28, 28, 256), "uint8", q(0.02, 128))],
                  [("w", w, q(0.01, 120)), ("b", np.zeros(256, np.int32), q(0.0002))],
                  ((1, 28, 28, 256), "uint8", q(0.5, 128)), OP_OPTIONS["CONV_2D"](activation="RELU6"))


def _x(seed):
    return np.random.default_rng(seed).integers(0, 256, (1, 28, 28, 256)).astype(np.uint8)


def test_concurrent_callers_get_the_reference_bytes():
    g = _graph()
    want = [Interpreter(g, kernels="reference").run(_x(s))[0] for s in range(4)]
    its = [Interpreter(g, num_threads=2) for _ in range(4)]
    bad = []

    def work(i):
        for _ in range(5):
            if not np.array_equal(its[i].run(_x(i))[0], want[i]):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def _child(conn):
    (y,) = Interpreter(_graph(), num_threads=2).run(_x(7))
    conn.send(y)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_forked_child_after_the_pool_started_does_not_hang():
    g = _graph()
    Interpreter(g, num_threads=2).run(_x(7))           # the parent's pool is running now
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child,))
    p.start()
    assert parent.poll(60), "the forked child did not answer"
    assert np.array_equal(parent.recv(), Interpreter(g, kernels="reference").run(_x(7))[0])
    p.join(10)


def _small_convs():
    """Depthwise 3x3 + 1x1 conv pairs on 24x24x32 (0.17M and 0.59M MACs): small layers, split over threads."""
    r = np.random.default_rng(3)
    g = Graph()
    g.add_tensor("x", (1, 24, 24, 32), "uint8", q(0.02, 128))
    cur = "x"
    for i in range(3):
        for op, w in (("DEPTHWISE_CONV_2D", r.integers(0, 256, (1, 3, 3, 32))),
                      ("CONV_2D", r.integers(0, 256, (32, 1, 1, 32)))):
            name = f"{op.lower()}{i}"
            g.add_constant(f"w_{name}", w.astype(np.uint8), q(0.01, 120))
            g.add_constant(f"b_{name}", r.integers(-500, 500, 32).astype(np.int32), q(0.0002))
            g.add_tensor(name, (1, 24, 24, 32), "uint8", q(0.05, 100))
            opts = (OP_OPTIONS[op](padding="SAME", depth_multiplier=1, activation="RELU6") if op.startswith("DEPTH")
                    else OP_OPTIONS[op](activation="RELU6"))
            g.add_node(op, [cur, f"w_{name}", f"b_{name}"], [name], opts, name=name)
            cur = name
    g.inputs, g.outputs = ["x"], [cur]
    return g


def test_many_small_split_calls_with_changing_thread_counts_give_the_reference_bytes():
    """Calls of 2, 3 and 4 threads alternate (workers outside a call must stay out of it; more threads than
    cores is allowed); every chunk is claimed once, whichever thread takes it."""
    g = _small_convs()
    ref = Interpreter(g, kernels="reference")
    its = [Interpreter(g, num_threads=n) for n in (2, 3, 4)]
    assert all(r[10] > 1 for r in its[2]._plan.records), "every layer should be split (record word 10: threads)"
    for i in range(60):
        x = np.random.default_rng(100 + i).integers(0, 256, (1, 24, 24, 32)).astype(np.uint8)
        assert np.array_equal(its[i % 3].run(x)[0], ref.run(x)[0]), f"call {i}, {(2, 3, 4)[i % 3]} threads"


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_split_add_gives_the_reference_bytes(dtype):
    """ADD of 75K elements: intq_add is split over threads from 8192 elements per thread."""
    lo = -128 if dtype == "int8" else 0
    g = one_op("ADD", [("a", (1, 56, 56, 24), dtype, q(0.05, lo + 100)), ("b", (1, 56, 56, 24), dtype, q(0.03, lo + 7))],
               [], ((1, 56, 56, 24), dtype, q(0.07, lo + 50)), OP_OPTIONS["ADD"](activation="RELU6"))
    r = np.random.default_rng(5)
    a, b = (r.integers(lo, lo + 256, (1, 56, 56, 24)).astype(dtype) for _ in range(2))
    want = Interpreter(g, kernels="reference").run(a, b)[0]
    for n in (2, 3):
        it = Interpreter(g, num_threads=n)
        assert it._plan is not None and it._plan.records[0][6] == n
        assert np.array_equal(it.run(a, b)[0], want)


def test_more_threads_than_the_pool_runs_give_the_reference_bytes():
    """num_threads up to Interpreter.MAX_THREADS (1024) is accepted; the compiled kernels run at most
    POOL_THREADS (64), and MEAN's per-thread sums and the conv workspace are sized for those, not for 1024."""
    from intq.runtime.fast._lib import POOL_THREADS, threads_for
    assert threads_for(1 << 40, 1024) == POOL_THREADS
    r = np.random.default_rng(3)
    x = r.integers(0, 256, (1, 28, 28, 512)).astype(np.uint8)
    g = one_op("MEAN", [("x", x.shape, "uint8", q(0.05, 100))], [("axes", np.array([1, 2], np.int32), None)],
               ((1, 1, 1, 512), "uint8", q(0.04, 90)), OP_OPTIONS["MEAN"](keep_dims=True))
    want = Interpreter(g, kernels="reference").run(x)[0]
    it = Interpreter(g, num_threads=1024)
    for _ in range(2):
        assert np.array_equal(it.run(x)[0], want)
