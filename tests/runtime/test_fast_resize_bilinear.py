"""Fast RESIZE_BILINEAR (C, float32 uint8 and integer kernels) equals the reference byte for byte, and plans."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.ir.ops import ResizeBilinearOptions
from intq.runtime.interpreter import Interpreter
from fast_cases import planned_run
from intq.runtime.kernels import ExecContext
from intq.runtime.reference import resize_bilinear as ref
from reference_cases import one_op, q
from strategies import RANGES

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import resize_bilinear as fast_rb  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["uint8", "int8"]), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9),
       st.integers(1, 17), st.integers(1, 17), st.sampled_from([1, 3, 8, 20, 67]),
       st.sampled_from([(False, False), (True, False), (False, True)]), st.booleans(), st.integers(0, 2**32 - 1))
def test_resize_bilinear_matches_reference(dtype, n, h, w, oh, ow, c, flags, integer, seed):
    lo, hi = RANGES[dtype]
    x = np.random.default_rng(seed).integers(lo, hi + 1, (n, h, w, c)).astype(dtype)
    qq = q(0.1, 0)
    g = one_op("RESIZE_BILINEAR", [("x", (n, h, w, c), dtype, qq)], [("size", np.array([oh, ow], np.int32), None)],
               ((n, oh, ow, c), dtype, qq), ResizeBilinearOptions(*flags))
    node = g.nodes[0]
    ref_k = (ref.INTEGER_KERNELS if integer else ref.KERNELS)["RESIZE_BILINEAR"]
    fast_k = (fast_rb.INTEGER_KERNELS if integer else fast_rb.KERNELS)["RESIZE_BILINEAR"]
    size = g.tensor("size").data
    want = ref_k.run(ref_k.prepare(g, node), [x, size], ExecContext())[0]
    p = fast_k.prepare(g, node)
    got = fast_k.run(p, [x, size], ExecContext())[0]
    assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
    for level in range(fast.ISA_LEVEL + 1):                           # the AVX2 build and the portable one
        for threads in (1, 2):                                        # rows split from 8192 outputs a thread
            assert np.array_equal(fast_rb.run_level(p, x, level, threads), want), (level, threads)
    if not integer:
        assert fast.KERNELS["RESIZE_BILINEAR"] is fast_k
        (planned,) = planned_run(Interpreter(g), x)
        assert np.array_equal(planned, want)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("integer", [False, True])
def test_resize_bilinear_split_over_threads_matches_reference(dtype, integer):
    """An output of 2 x 33 x 33 x 40 codes (over 8192 a thread): rows split over 2 threads, planned, give the
    reference's bytes."""
    lo, hi = RANGES[dtype]
    x = np.random.default_rng(3).integers(lo, hi + 1, (2, 9, 9, 40)).astype(dtype)
    qq = q(0.1, 0)
    g = one_op("RESIZE_BILINEAR", [("x", x.shape, dtype, qq)], [("size", np.array([33, 33], np.int32), None)],
               ((2, 33, 33, 40), dtype, qq), ResizeBilinearOptions(False, True))
    node = g.nodes[0]
    ref_k = (ref.INTEGER_KERNELS if integer else ref.KERNELS)["RESIZE_BILINEAR"]
    fast_k = (fast_rb.INTEGER_KERNELS if integer else fast_rb.KERNELS)["RESIZE_BILINEAR"]
    want = ref_k.run(ref_k.prepare(g, node), [x, g.tensor("size").data], ExecContext())[0]
    kernels = dict(fast.KERNELS, RESIZE_BILINEAR=fast_k)
    for threads in (1, 2):              # the plan's output buffer starts zeroed: a row left out would show
        (got,) = planned_run(Interpreter(g, kernels=kernels, num_threads=threads), x)
        assert np.array_equal(got, want), threads
