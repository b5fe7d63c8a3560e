"""The worker pool behind num_threads (csrc/intq_threads.c): same bytes from concurrent callers and after fork."""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

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
