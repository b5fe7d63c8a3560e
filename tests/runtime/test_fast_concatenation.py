"""Fast CONCATENATION (byte copies and folded tables in C) equals the reference byte for byte, and plans."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.runtime.interpreter import Interpreter
from fast_cases import planned_run
from intq.runtime.kernels import ExecContext, kernel_set
from reference_cases import concat_graph, draw_concat_shapes, q
from strategies import RANGES

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import concatenation as fast_concat  # noqa: E402


def _graph(shapes, axis, dtype, quants, out_quant, activation):
    return concat_graph(shapes, axis, dtype, quants, out_quant, activation)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_concatenation_matches_reference(data):
    axis, shapes = draw_concat_shapes(data, max_dim=4, max_inputs=4, max_axis_len=5)
    dtype = data.draw(st.sampled_from(["uint8", "int8", "int32", "float32"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    if dtype in RANGES:
        lo, hi = RANGES[dtype]
        out_q = q(0.1, data.draw(st.integers(lo, hi)))
        if dtype == "uint8":                   # requantized inputs (tables) mixed with copied ones
            quants = [out_q if data.draw(st.booleans()) else q(data.draw(st.sampled_from([0.05, 0.2, 0.37])),
                                                                data.draw(st.integers(0, 255))) for _ in shapes]
        else:
            quants = [out_q] * len(shapes)
        activation = data.draw(st.sampled_from(["NONE", "RELU", "RELU6"]))
        xs = [rng.integers(lo, hi + 1, s).astype(dtype) for s in shapes]
    else:
        quants, out_q, activation = [None] * len(shapes), None, "NONE"
        xs = [rng.normal(size=s).astype(dtype) if dtype == "float32" else rng.integers(-9, 9, s).astype(dtype)
              for s in shapes]
    g = _graph(shapes, axis, dtype, quants, out_q, activation)
    node = g.nodes[0]
    ref_k, fast_k = kernel_set("reference")["CONCATENATION"], fast.KERNELS["CONCATENATION"]
    want = ref_k.run(ref_k.prepare(g, node), xs, ExecContext())[0]
    p = fast_k.prepare(g, node)
    got = fast_k.run(p, xs, ExecContext())[0]
    assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
    for level in range(fast.ISA_LEVEL + 1):                           # the tables' AVX2 and portable gathers
        assert np.array_equal(fast_concat.run_level(p, xs, level), want), level
    (planned,) = planned_run(Interpreter(g), *xs)
    assert np.array_equal(planned, want)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_concatenation_split_over_threads_matches_reference(dtype):
    """28x28 slices of 64 + 48 channels (over 8192 bytes a thread), one input requantized through its table
    (uint8): slices split over 2 threads, run and planned (the plan's output starts zeroed, so a slice left
    out would show)."""
    lo, hi = RANGES[dtype]
    r = np.random.default_rng(9)
    shapes = [(1, 28, 28, 64), (1, 28, 28, 48)]
    xs = [r.integers(lo, hi + 1, s).astype(dtype) for s in shapes]
    out_q = q(0.1, lo + 100)
    quants = [out_q, q(0.2, lo + 60) if dtype == "uint8" else out_q]
    g = _graph(shapes, 3, dtype, quants, out_q, "NONE")
    want = Interpreter(g, kernels="reference").run(*xs)[0]
    p = fast.KERNELS["CONCATENATION"].prepare(g, g.nodes[0])
    for threads in (2, 1):
        for level in range(fast.ISA_LEVEL + 1):
            assert np.array_equal(fast_concat.run_level(p, xs, level, threads), want), (threads, level)
        assert np.array_equal(planned_run(Interpreter(g, num_threads=threads), *xs)[0], want), threads
