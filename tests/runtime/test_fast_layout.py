"""Fast TRANSPOSE, PAD, QUANTIZE, DEQUANTIZE, MAX_POOL_2D and MEAN (run and plan) equal the reference byte for byte."""
from __future__ import annotations

import platform

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.ir.ops import OP_OPTIONS
from intq.runtime.interpreter import Interpreter
from fast_cases import planned_run
from intq.runtime.kernels import ExecContext, kernel_set
from reference_cases import one_op, pool_graph, q
from strategies import RANGES, pool_draws

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import layout as fast_layout  # noqa: E402
from intq.runtime.fast import pooling as fast_pool  # noqa: E402


def _codes(dtype: str, n: int, r: np.random.Generator) -> np.ndarray:
    """n random codes of an integer or float32 dtype."""
    if dtype == "float32":
        return r.standard_normal(n).astype(np.float32) * np.float32(50)
    info = np.iinfo(dtype)
    return r.integers(max(info.min, -1 << 20), min(info.max, 1 << 20) + 1, n).astype(dtype)


def _kernel_equal(op: str, g, inputs: list) -> np.ndarray:
    """The fast kernel's run equals the reference run on a one-node graph; returns the reference output."""
    ref_k, fast_k = kernel_set("reference")[op], fast.KERNELS[op]
    node = g.nodes[0]
    want = ref_k.run(ref_k.prepare(g, node), inputs, ExecContext())[0]
    got = fast_k.run(fast_k.prepare(g, node), inputs, ExecContext())[0]
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=got.dtype.kind == "f")
    if got.dtype.kind == "f":
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))          # bits, signs of zero included
    return want


def _plan_equal(g, x: np.ndarray, planned: bool = True) -> None:
    """The fast Interpreter plans the graph (or not) and its run equals the reference Interpreter's."""
    for threads in (1, 2):
        it = Interpreter(g, num_threads=threads)
        assert (it._plan is not None) == planned
        got = planned_run(it, x)[0] if planned else it.run(x)[0]
        want = Interpreter(g, kernels="reference").run(x)[0]
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


def _both(op: str, g, x: np.ndarray, consts: list) -> np.ndarray:
    """Kernel and plan equal the reference; returns the reference output."""
    want = _kernel_equal(op, g, [x, *consts])
    _plan_equal(g, x)
    return want


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.sampled_from(["uint8", "int8", "float32", "int32"]),
       st.data())
def test_transpose_matches_reference(seed, rank, dtype, data):
    r = np.random.default_rng(seed)
    shape = tuple(int(d) for d in r.integers(1, 5 if rank <= 4 else 3, rank))
    perm = data.draw(st.permutations(range(rank)))
    if seed % 3 == 0:                                                 # negative entries wrap
        perm = [p - rank if i % 2 else p for i, p in enumerate(perm)]
    x = _codes(dtype, int(np.prod(shape)), r).reshape(shape)
    quant = q(0.1, 3) if dtype in RANGES else None
    g = one_op("TRANSPOSE", [("x", shape, dtype, quant)], [("perm", np.array(perm, np.int32), None)],
               (tuple(shape[p % rank] for p in perm), dtype, quant), OP_OPTIONS["TRANSPOSE"]())
    _both("TRANSPOSE", g, x, [np.array(perm, np.int32)])


def test_transpose_nchw_to_nhwc_by_hand():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    g = one_op("TRANSPOSE", [("x", x.shape, "uint8", q(0.1))], [("perm", np.array([0, 2, 3, 1], np.int32), None)],
               ((2, 4, 5, 3), "uint8", q(0.1)), OP_OPTIONS["TRANSPOSE"]())
    got = fast.KERNELS["TRANSPOSE"].run(fast.KERNELS["TRANSPOSE"].prepare(g, g.nodes[0]), [x], ExecContext())[0]
    assert np.array_equal(got, np.transpose(x, (0, 2, 3, 1)))
    _plan_equal(g, x)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.sampled_from(["uint8", "int8", "float32", "int32"]))
def test_pad_matches_reference(seed, rank, dtype):
    r = np.random.default_rng(seed)
    shape = tuple(int(d) for d in r.integers(1, 6 if rank <= 3 else 4, rank))
    pads = r.integers(0, 4, (rank, 2)) * (r.random((rank, 2)) < 0.7)
    x = _codes(dtype, int(np.prod(shape)), r).reshape(shape)
    quant = q(0.1, int(r.integers(*RANGES[dtype]))) if dtype in RANGES else None
    out_shape = tuple(d + int(a) + int(b) for d, (a, b) in zip(shape, pads))
    g = one_op("PAD", [("x", shape, dtype, quant)], [("paddings", pads.astype(np.int32), None)],
               (out_shape, dtype, quant), OP_OPTIONS["PAD"]())
    _both("PAD", g, x, [pads.astype(np.int32)])


def _quantize_graph(shape, dtype: str, scale: float, zp: int):
    return one_op("QUANTIZE", [("x", shape, "float32", None)], [], (shape, dtype, q(scale, zp)),
                  OP_OPTIONS["QUANTIZE"]())


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["uint8", "int8"]),
       st.sampled_from([1.0, 0.25, 2.0 ** -7, 0.02, 0.1, 3.7, 1e-3, 1e-30, 1e30]))
def test_quantize_float_matches_reference(seed, dtype, scale):
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    zp = int(r.integers(lo, hi + 1)) if seed % 4 else (lo if seed % 8 else hi)
    s = np.float32(scale)
    k = r.integers(-300, 300, 200).astype(np.float32)
    ties = (k + np.float32(0.5)) * s                                  # exact ties where s is a power of two
    near = np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf))
    with np.errstate(over="ignore"):
        huge = np.array([1e10, -1e10, 3e38, -3e38, 2.0 ** 31, -2.0 ** 31, 2.0 ** 31 - 128, 2.0 ** 24 + 2, 0.0, -0.0,
                         1e-45, -1e-45, 0.49999997, -0.49999997, 0.5, -0.5, 8388609.0], np.float32) * s
    x = np.concatenate([ties, *near, huge, r.standard_normal(200).astype(np.float32) * s * np.float32(200),
                        r.standard_normal(50).astype(np.float32) * np.float32(1e12)]).astype(np.float32)
    x = x[np.isfinite(x)].reshape(1, -1)
    g = _quantize_graph(x.shape, dtype, scale, zp)
    with np.errstate(over="ignore"):                                  # x / scale overflows to inf for huge x
        want = _both("QUANTIZE", g, x, [])
        p = fast.KERNELS["QUANTIZE"].prepare(g, g.nodes[0])
        for level in range(fast.ISA_LEVEL + 1):                       # AVX2 8 at a time, and the scalar code
            assert np.array_equal(fast_layout.quantize_float_level(p, x, level), want), level


def test_quantize_float_ties_round_away_from_zero():
    x = np.array([[0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -127.5, 0.49999997, -0.49999997]], np.float32)
    g = _quantize_graph(x.shape, "int8", 1.0, 0)
    k = fast.KERNELS["QUANTIZE"]
    got = k.run(k.prepare(g, g.nodes[0]), [x], ExecContext())[0]
    assert got.tolist() == [[1, -1, 2, -2, 3, -3, 127, -128, 0, 0]]
    _both("QUANTIZE", g, x, [])


def test_quantize_float_nan_and_inf():
    """+-inf saturate; NaN gives the x86-64 reference's result (INT64_MIN + zp wrapped, then clamped: the lowest
    code for zp >= 0, the highest for zp < 0). The Interpreter refuses non-finite inputs: only the kernel sees them."""
    x = np.array([[np.nan, -np.nan, np.inf, -np.inf, 1.0]], np.float32)
    for dtype, zp in (("uint8", 7), ("uint8", 0), ("int8", -3), ("int8", 0), ("int8", 5)):
        g = _quantize_graph(x.shape, dtype, 0.5, zp)
        k = fast.KERNELS["QUANTIZE"]
        got = k.run(k.prepare(g, g.nodes[0]), [x], ExecContext())[0]
        lo, hi = RANGES[dtype]
        nan = lo if zp >= 0 else hi
        assert got.tolist() == [[nan, nan, hi, lo, zp + 2]]
        p = k.prepare(g, g.nodes[0])
        wide = np.tile(x, (1, 5))                                     # 25 values: AVX2 steps with NaN, one without
        wide[0, 8:16] = np.arange(8, dtype=np.float32) - 3.5
        for level in range(fast.ISA_LEVEL + 1):
            with np.errstate(invalid="ignore"):
                codes = fast_layout.quantize_float_level(p, wide, level)[0]
            assert codes.tolist()[:5] == [nan, nan, hi, lo, zp + 2], level
            finite = wide[:, 8:16]
            ref_k = kernel_set("reference")["QUANTIZE"]
            g8 = _quantize_graph(finite.shape, dtype, 0.5, zp)
            want8 = ref_k.run(ref_k.prepare(g8, g8.nodes[0]), [finite], ExecContext())[0][0]
            assert codes[8:16].tolist() == want8.tolist(), level
        if platform.machine() in ("x86_64", "AMD64"):
            with np.errstate(invalid="ignore"):
                _kernel_equal("QUANTIZE", g, [x])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["uint8", "int8"]), st.sampled_from(["uint8", "int8"]), st.integers(0, 2**32 - 1),
       st.sampled_from([1.0, 0.5, 0.37, 3.0, 1e-6, 1e4, 255.0]))
def test_requantize_matches_reference(din, dout, seed, ratio):
    r = np.random.default_rng(seed)
    s_in = float(r.uniform(0.001, 0.5))
    x = np.concatenate([np.arange(256, dtype=np.uint8), r.integers(0, 256, 100).astype(np.uint8)]).view(din)
    x = x.reshape(4, -1)
    g = one_op("QUANTIZE", [("x", x.shape, din, q(s_in, int(r.integers(*RANGES[din]))))], [],
               (x.shape, dout, q(s_in * ratio, int(r.integers(*RANGES[dout])))), OP_OPTIONS["QUANTIZE"]())
    _both("QUANTIZE", g, x, [])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["uint8", "int8"]), st.integers(0, 2**32 - 1),
       st.sampled_from([1.0, 0.1, 1e-3, 3.3e-7, 1.2e-38, 1e-45, 3e38, 1e30]))
def test_dequantize_matches_reference(dtype, seed, scale):
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    zp = int(r.integers(lo, hi + 1)) if seed % 3 else (lo if seed % 2 else hi)
    x = np.arange(256, dtype=np.uint8).view(dtype).reshape(2, 8, 16)
    g = one_op("DEQUANTIZE", [("x", x.shape, dtype, q(scale, zp))], [], (x.shape, "float32", None),
               OP_OPTIONS["DEQUANTIZE"]())
    with np.errstate(over="ignore"):                                  # scale 3e38: the products overflow to inf
        _both("DEQUANTIZE", g, x, [])


@settings(max_examples=60, deadline=None)
@given(*pool_draws(12, [1, 5, 32, 96, 300, 480], 5))       # 480 = 8 + 4 + 2 + 1 vectors: every group size
def test_max_pool_matches_reference(dtype, seed, n, h, w, c, kh, kw, sh, sw, padding, activation):
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    kh, kw = min(kh, h), min(kw, w)
    x = r.integers(lo, hi + 1, (n, h, w, c)).astype(dtype)
    if seed % 4 == 0:
        x[...] = lo                                                   # all-lowest windows, padding included
    quant = q(float(r.choice([0.02, 0.1, 1.0])), int(r.integers(lo, hi + 1)))
    g = pool_graph("MAX_POOL_2D", x, kh, kw, sh, sw, padding, activation, quant)
    want = _both("MAX_POOL_2D", g, x, [])
    p = fast.KERNELS["MAX_POOL_2D"].prepare(g, g.nodes[0])
    for level in range(fast.ISA_LEVEL + 1):                           # the AVX2 code and the portable one
        for threads in (1, 2):                                        # rows split from 8192 outputs a thread
            assert np.array_equal(fast_pool.run_max_level(p, x, level, threads), want), (level, threads)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["uint8", "int8"]), st.integers(0, 2**32 - 1),
       st.sampled_from([((2, 7, 7, 16), (1, 2)), ((1, 4, 4, 8), (2, 1)), ((3, 5, 6), (-1,)), ((2, 9, 4), (1, 2)),
                        ((1, 3, 3, 700), (1, 2)), ((1, 3, 3, 1024), (1, 2)), ((2, 6), (1,)), ((2, 3, 4, 5), (1, 3)), ((2, 2, 3, 2, 2, 3), (2, 4)),
                        ((2, 3, 4, 5), (0, 1))]),
       st.booleans(), st.sampled_from([0.5, 1.0, 3.0, 0.01]))
def test_mean_matches_reference_run_and_planned(dtype, seed, shape_axes, keep, ratio):
    (shape, axes), r = shape_axes, np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    x = r.integers(lo, hi + 1, shape).astype(dtype)
    if seed % 3 == 0:
        x[...] = hi if seed % 2 else lo                               # extreme sums: the table's ends
    rank = len(shape)
    red = {a % rank for a in axes}
    out_shape = tuple(1 if i in red else d for i, d in enumerate(shape)) if keep else \
        tuple(d for i, d in enumerate(shape) if i not in red)
    s_in = float(r.uniform(0.01, 0.2))
    g = one_op("MEAN", [("x", shape, dtype, q(s_in, int(r.integers(lo, hi + 1))))],
               [("axes", np.array(axes, np.int32), None)],
               (out_shape, dtype, q(s_in * ratio, int(r.integers(lo, hi + 1)))), OP_OPTIONS["MEAN"](keep_dims=keep))
    _kernel_equal("MEAN", g, [x, np.array(axes, np.int32)])
    _plan_equal(g, x)                          # batch reduced: the plan's table is built for the planned batch


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("shape, axes", [((1, 7, 7, 1280), (1, 2)), ((2, 300, 40), (1,)), ((1, 3, 520, 33), (1, 2)),
                                         ((3, 5, 6, 96), (2,)), ((2, 10, 4, 64), (1, 3)), ((1, 600, 32), (1,)),
                                         ((1, 40, 40, 200), (1, 2))])
@pytest.mark.parametrize("fill", ["random", "hi", "lo"])
def test_mean_at_every_level_and_two_threads(dtype, shape, axes, fill):
    """The tabled MEAN at every ISA level, 1 and 2 threads: AVX2 sums a reduced dim's rows 32 codes at a time in
    16-bit lanes, flushed every 255 rows; here 49 to 1600 rows (merged H and W), channel tails of 8 and 1, a
    kept dim before the reduced one, a reduced last dim (the scalar path), codes all at the top or bottom of
    the range (the 16-bit sums' extremes), and 320K codes, which the AVX2 path splits over two threads (it
    takes a second thread from 16 x 8192 codes each)."""
    r = np.random.default_rng(len(shape) * 7 + shape[-1])
    lo, hi = RANGES[dtype]
    x = r.integers(lo, hi + 1, shape).astype(dtype) if fill == "random" else \
        np.full(shape, hi if fill == "hi" else lo, dtype)
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    g = one_op("MEAN", [("x", shape, dtype, q(0.05, int(r.integers(lo, hi + 1))))],
               [("axes", np.array(axes, np.int32), None)],
               (out_shape, dtype, q(0.03, int(r.integers(lo, hi + 1)))), OP_OPTIONS["MEAN"](keep_dims=True))
    ref_k = kernel_set("reference")["MEAN"]
    want = ref_k.run(ref_k.prepare(g, g.nodes[0]), [x, np.array(axes, np.int32)], ExecContext())[0]
    p = fast.KERNELS["MEAN"].prepare(g, g.nodes[0])
    for level in range(fast.ISA_LEVEL + 1):
        for threads in (1, 2):
            got = fast_pool.run_mean_level(p, x, level, threads)
            assert got is not None and np.array_equal(got, want), (level, threads)


def test_batch_axis_mean_is_planned_for_each_batch_size():
    """MEAN over the batch axis: node by node it is the reference run; each planned batch size (the graph's,
    then another one planned after its first run) gets its own table, and the bytes stay the reference's."""
    r = np.random.default_rng(5)
    g = one_op("MEAN", [("x", (2, 3, 4), "uint8", q(0.05, 7))], [("axes", np.array([0, 2], np.int32), None)],
               ((3,), "uint8", q(0.03, 11)), OP_OPTIONS["MEAN"](keep_dims=False))
    it, ref = Interpreter(g), Interpreter(g, kernels="reference")
    assert it._plan is not None
    for n in (2, 5, 5, 2):
        x = r.integers(0, 256, (n, 3, 4)).astype(np.uint8)
        assert np.array_equal(it.run(x)[0], ref.run(x)[0]), n
    assert ((5, 3, 4),) in it._other_plans and it._other_plans[((5, 3, 4),)] is not None
