"""TRANSPOSE, PAD, SPLIT, QUANTIZE, MEAN, the global AVERAGE_POOL_2D and ARG_MAX split over 2 threads equal the
reference byte for byte, node by node and planned.

Their C kernels split the work only from 8192 elements (bytes for the layout ops) a thread on
(csrc/intq_common.h threads_for_elements), so every input here holds more than 2 x 8192: the smaller cases
of test_fast_layout.py and test_fast_small_ops.py run on one thread whatever num_threads says."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from intq.ir.graph import Graph
from intq.ir.ops import OP_OPTIONS, ArgMaxOptions, SplitOptions
from intq.runtime.interpreter import Interpreter
from intq.runtime.kernels import ExecContext, kernel_set
from fast_cases import planned_run
from reference_cases import one_op, q
from strategies import RANGES

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)

SPLIT_FROM = 2 * 8192 + 1          # elements (or bytes) from which the kernels use a second thread


def _big_shape(r: np.random.Generator, rank: int, itemsize: int = 1) -> tuple[int, ...]:
    """A random shape of ``rank`` dims in 1..6 but one, grown so the tensor holds >= SPLIT_FROM bytes."""
    dims = [int(d) for d in r.integers(1, 7, rank)]
    i = int(r.integers(rank))
    rest = int(np.prod(dims[:i] + dims[i + 1:]))
    dims[i] = -(-SPLIT_FROM // (rest * itemsize)) + int(r.integers(0, 5))
    return tuple(dims)


def _codes(dtype: str, shape, r: np.random.Generator) -> np.ndarray:
    if dtype == "float32":
        return (r.standard_normal(shape) * 50).astype(np.float32)
    lo, hi = RANGES.get(dtype, (-100000, 100000))
    return r.integers(lo, hi + 1, shape).astype(dtype)


def _same(g, x: np.ndarray, consts: list) -> None:
    """The fast kernel at 2 threads (node by node) and the 2-thread plan give the reference's bytes."""
    op, node = g.nodes[0].op, g.nodes[0]
    ref_k, fast_k = kernel_set("reference")[op], fast.KERNELS[op]
    want = ref_k.run(ref_k.prepare(g, node), [x, *consts], ExecContext())
    got = fast_k.run(fast_k.prepare(g, node), [x, *consts], ExecContext(num_threads=2))
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))
    it = Interpreter(g, num_threads=2)
    assert it._plan is not None
    for a, b in zip(planned_run(it, x), Interpreter(g, kernels="reference").run(x)):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


DTYPES = ["uint8", "int8", "int32", "float32"]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.sampled_from(DTYPES), st.data())
def test_transpose_on_two_threads(seed, rank, dtype, data):
    r = np.random.default_rng(seed)
    shape = _big_shape(r, rank, np.dtype(dtype).itemsize)
    perm = data.draw(st.permutations(range(rank)))
    quant = q(0.1, 3) if dtype in ("uint8", "int8") else None
    g = one_op("TRANSPOSE", [("x", shape, dtype, quant)], [("perm", np.array(perm, np.int32), None)],
               (tuple(shape[p] for p in perm), dtype, quant), OP_OPTIONS["TRANSPOSE"]())
    _same(g, _codes(dtype, shape, r), [np.array(perm, np.int32)])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.sampled_from(DTYPES))
def test_pad_on_two_threads(seed, rank, dtype):
    r = np.random.default_rng(seed)
    shape = _big_shape(r, rank, np.dtype(dtype).itemsize)
    pads = r.integers(0, 3, (rank, 2)) * (r.random((rank, 2)) < 0.7)
    quant = q(0.1, int(r.integers(*RANGES[dtype]))) if dtype in ("uint8", "int8") else None
    out_shape = tuple(d + int(a) + int(b) for d, (a, b) in zip(shape, pads))
    g = one_op("PAD", [("x", shape, dtype, quant)], [("paddings", pads.astype(np.int32), None)],
               (out_shape, dtype, quant), OP_OPTIONS["PAD"]())
    _same(g, _codes(dtype, shape, r), [pads.astype(np.int32)])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.sampled_from(DTYPES), st.sampled_from([2, 3, 4]))
def test_split_on_two_threads(seed, rank, dtype, n):
    r = np.random.default_rng(seed)
    shape = list(_big_shape(r, rank, np.dtype(dtype).itemsize))
    axis = int(r.integers(rank))
    shape[axis] *= n
    part = list(shape)
    part[axis] //= n
    quant = q(0.1, 3) if dtype in ("uint8", "int8") else None
    g = Graph()
    g.add_tensor("x", shape, dtype, quant)
    g.add_constant("axis", np.array([axis], np.int32))
    outs = [g.add_tensor(f"y{i}", part, dtype, quant) for i in range(n)]
    g.add_node("SPLIT", ["axis", "x"], outs, SplitOptions(n))
    g.inputs, g.outputs = ["x"], outs
    x = _codes(dtype, tuple(shape), r)
    ref_k, fast_k = kernel_set("reference")["SPLIT"], fast.KERNELS["SPLIT"]
    ins = [np.array([axis], np.int32), x]
    want = ref_k.run(ref_k.prepare(g, g.nodes[0]), ins, ExecContext())
    got = fast_k.run(fast_k.prepare(g, g.nodes[0]), ins, ExecContext(num_threads=2))
    assert all(a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8)) for a, b in zip(got, want))
    it = Interpreter(g, num_threads=2)
    assert it._plan is not None
    got = planned_run(it, x)
    assert all(a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8)) for a, b in zip(got, want))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["uint8", "int8"]), st.sampled_from([0.02, 0.1, 1.0, 3.7]))
def test_quantize_float_on_two_threads(seed, dtype, scale):
    r = np.random.default_rng(seed)
    shape = _big_shape(r, int(r.integers(1, 5)))                  # QUANTIZE splits by elements
    x = (r.standard_normal(shape) * 40).astype(np.float32)
    x.flat[r.integers(0, x.size, 5)] = np.array([1e30, -1e30, 0.5 * scale, -1.5 * scale, 2.5 * scale], np.float32)
    g = one_op("QUANTIZE", [("x", shape, "float32", None)], [], (shape, dtype, q(scale, int(r.integers(*RANGES[dtype])))),
               OP_OPTIONS["QUANTIZE"]())
    _same(g, x, [])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["uint8", "int8"]), st.integers(2, 5), st.booleans())
def test_mean_on_two_threads(seed, dtype, rank, keep):
    r = np.random.default_rng(seed)
    shape = _big_shape(r, rank)
    axes = sorted({int(a) for a in r.integers(1, rank, int(r.integers(1, rank)))})   # never the batch axis
    kept = [i for i in range(rank) if i not in axes]
    if max(shape[i] for i in kept) < 2:                         # nothing to split: give a kept dim length
        shape = tuple(d * 2 if i == kept[-1] else d for i, d in enumerate(shape))
    lo, hi = RANGES[dtype]
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keep else \
        tuple(d for i, d in enumerate(shape) if i not in axes)
    s_in = float(r.uniform(0.01, 0.2))
    g = one_op("MEAN", [("x", shape, dtype, q(s_in, int(r.integers(lo, hi + 1))))],
               [("axes", np.array(axes, np.int32), None)],
               (out_shape, dtype, q(s_in * 0.7, int(r.integers(lo, hi + 1)))), OP_OPTIONS["MEAN"](keep_dims=keep))
    x = r.integers(lo, hi + 1, shape).astype(dtype)
    assume(fast.KERNELS["MEAN"].prepare(g, g.nodes[0])["table"] is not None)   # else no C kernel (~1 draw in 2000)
    _same(g, x, [np.array(axes, np.int32)])


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["uint8", "int8"]), st.integers(1, 3),
       st.sampled_from([130, 200, 256, 1280]))
def test_global_average_pool_on_two_threads(seed, dtype, n, c):
    r = np.random.default_rng(seed)
    hw = int(r.integers(2, 9))
    shape = (n, hw, hw, c)
    lo, hi = RANGES[dtype]
    quant = q(0.05, int(r.integers(lo, hi + 1)))
    opts = OP_OPTIONS["AVERAGE_POOL_2D"](padding="VALID", filter_h=hw, filter_w=hw, stride_h=1, stride_w=1)
    g = one_op("AVERAGE_POOL_2D", [("x", shape, dtype, quant)], [], ((n, 1, 1, c), dtype, quant), opts)
    assert fast.KERNELS["AVERAGE_POOL_2D"].prepare(g, g.nodes[0])["global"]
    _same(g, r.integers(lo, hi + 1, shape).astype(dtype), [])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.sampled_from(["uint8", "int8", "int32", "float32"]),
       st.sampled_from(["int32", "int64"]), st.booleans())
def test_arg_max_on_two_threads(seed, rank, dtype, out_type, ties):
    r = np.random.default_rng(seed)
    shape = _big_shape(r, rank)
    axis = int(r.integers(rank))
    lo, hi = RANGES.get(dtype, (-1000, 1000))
    x = r.integers(lo, lo + 3 if ties else hi + 1, shape).astype(dtype)   # few values: ties, the first wins
    if dtype == "float32":
        x = x / np.float32(7)
        x.flat[r.integers(0, x.size, 3)] = np.nan                  # NaN is the maximum, the first one wins
    out_shape = tuple(d for i, d in enumerate(shape) if i != axis)
    quant = q(0.1, 0) if dtype in ("uint8", "int8") else None
    g = one_op("ARG_MAX", [("x", shape, dtype, quant)], [("axis", np.array([axis], np.int32), None)],
               (out_shape, out_type, None), ArgMaxOptions(out_type))
    ref_k, fast_k = kernel_set("reference")["ARG_MAX"], fast.KERNELS["ARG_MAX"]
    node = g.nodes[0]
    want = ref_k.run(ref_k.prepare(g, node), [x, np.array([axis], np.int32)], ExecContext())[0]
    got = fast_k.run(fast_k.prepare(g, node), [x, np.array([axis], np.int32)], ExecContext(num_threads=2))[0]
    assert got.dtype == want.dtype and np.array_equal(got, want)
    if dtype != "float32":                                      # Interpreter.run refuses NaN inputs
        _same(g, x, [np.array([axis], np.int32)])
