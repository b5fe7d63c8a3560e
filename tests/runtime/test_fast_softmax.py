"""Fast SOFTMAX (csrc/intq_softmax.c) equals the reference byte for byte; its C GetReciprocal equals fixedpoint's."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.ir.ops import OP_OPTIONS
from intq.scheme.fixedpoint import get_reciprocal
from fast_cases import assert_kernel_equal
from reference_cases import one_op, q
from strategies import RANGES

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast._lib import LIB  # noqa: E402


def _c_reciprocal(x: int, digits: int) -> tuple[int, int]:
    nbu = ctypes.c_int32()
    inv = LIB.intq_get_reciprocal(int(x), digits, ctypes.byref(nbu))
    return int(inv), int(nbu.value)


def test_c_get_reciprocal_equals_fixedpoint():
    """Random int32 sums plus the powers of two and their neighbours (headroom edges), digits 0 and 12."""
    r = np.random.default_rng(0)
    edges = [v for k in range(31) for v in ((1 << k) - 1, 1 << k, (1 << k) + 1)] + [2**31 - 1, 0, -1, -(2**31)]
    xs = np.concatenate([np.array(edges, np.int64), r.integers(-(2**31), 2**31, 3000), r.integers(1, 1 << 22, 3000)])
    xs = xs.astype(np.int32)
    for digits in (0, 12):
        inv, nbu = get_reciprocal(xs, digits)
        got = np.array([_c_reciprocal(int(v), digits) for v in xs])
        assert np.array_equal(got[:, 0], np.asarray(inv, np.int64)), digits
        assert np.array_equal(got[:, 1], np.asarray(nbu, np.int64)), digits


def _check(x: np.ndarray, dtype: str, s_in: float, beta: float) -> None:
    """The kernel as the interpreter runs it, then at every ISA level (the byte gather's AVX2 and C paths)."""
    from intq.runtime.fast import softmax as fast_softmax
    from intq.runtime.kernels import ExecContext
    from intq.runtime.reference import softmax as ref_softmax
    lo, _ = RANGES[dtype]
    shape = x.shape
    g = one_op("SOFTMAX", [("x", shape, dtype, q(s_in, 0))], [], (shape, dtype, q(1 / 256, lo)),
               OP_OPTIONS["SOFTMAX"](beta=beta))
    assert_kernel_equal("SOFTMAX", g, [x], fast.KERNELS)
    ref_k = ref_softmax.KERNELS["SOFTMAX"]
    want = ref_k.run(ref_k.prepare(g, g.nodes[0]), [x], ExecContext())[0]
    p = fast.KERNELS["SOFTMAX"].prepare(g, g.nodes[0])
    for level in range(fast.ISA_LEVEL + 1):
        assert np.array_equal(fast_softmax.run_threads(p, x, 1, level), want), level


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["uint8", "int8"]), st.integers(0, 2**32 - 1), st.sampled_from([0.003, 0.05, 0.5, 4.0]),
       st.sampled_from([(1, 1001), (4, 300), (2, 3, 17), (1, 1), (5, 2)]), st.sampled_from([0.5, 1.0, 3.0]),
       st.integers(1, 255))
def test_softmax_matches_reference(dtype, seed, s_in, shape, beta, spread):
    """Codes drawn in a band of width ``spread`` (narrow bands make near-flat rows and large exp sums)."""
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    base = int(r.integers(lo, hi - spread + 1))
    x = r.integers(base, base + spread + 1, shape).clip(lo, hi).astype(dtype)
    _check(x, dtype, s_in, beta)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_softmax_flat_row_saturates_like_reference(dtype):
    """1000 equal logits: the exp sum reaches 512, every probability rounds to code q_min (row 0); row 1 varied."""
    lo, hi = RANGES[dtype]
    x = np.full((2, 1000), hi, dtype)
    x[1, ::3] = lo
    _check(x, dtype, 0.01, 1.0)
