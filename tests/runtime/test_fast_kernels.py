"""Fast (compiled) CONV_2D / DEPTHWISE_CONV_2D equal the reference kernels byte for byte, every ISA level."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.ir.ops import OP_OPTIONS
from intq.runtime.interpreter import Interpreter
from intq.runtime.kernels import ExecContext, kernel_set
from intq.runtime.reference import add as ref_add
from intq.runtime.reference import conv as ref_conv
from intq.runtime.reference import depthwise_conv as ref_dw
from fast_cases import assert_conv_like_equal, assert_kernel_equal, planned_run
from reference_cases import one_op, pool_graph, q
from strategies import RANGES, pool_draws

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)
from intq.runtime.fast import conv as fast_conv  # noqa: E402
from intq.runtime.fast import depthwise_conv as fast_dw  # noqa: E402
from intq.runtime.fast import pooling as fast_pool  # noqa: E402

LEVELS = list(range(fast.ISA_LEVEL + 1))


def _graph(draw, op: str, dtype: str, big: bool):
    r = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    c = draw(st.sampled_from([1, 3, 8, 17, 40] + ([96] if big else [])))
    kh, kw = draw(st.integers(1, min(3, h) if op else 3)), draw(st.integers(1, 3))
    sh, sw, dh, dw = (draw(st.integers(1, 2)) for _ in range(4))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        padding = "SAME"
    lo, hi = RANGES[dtype]
    s_x = draw(st.sampled_from([0.02, 0.5, 1.0]))
    z_x = draw(st.integers(lo, hi))
    x = r.integers(lo, hi + 1, (n, h, w, c)).astype(dtype)
    if op == "CONV_2D":
        cout, mult = draw(st.integers(1, 70)), 1
        wshape, axis = (cout, kh, kw, c), 0
    else:
        mult = draw(st.integers(1, 3))
        cout, wshape, axis = c * mult, (1, kh, kw, c * mult), 3
    wd = r.integers(lo if dtype == "int8" else 0, 256 if dtype == "uint8" else 128, wshape).astype(dtype)
    if dtype == "uint8":
        s_w = np.float32(draw(st.sampled_from([0.01, 0.003])))
        wq, scales = q(s_w, draw(st.integers(0, 255))), np.full(cout, s_w)
    else:
        scales = r.uniform(0.001, 0.02, cout).astype(np.float32)
        wq = q(scales, 0, axis)
    bq = q((np.float32(s_x) * scales).astype(np.float32), 0, 0) if dtype == "int8" else q(np.float32(s_x) * scales[0])
    bound = 2**31 if draw(st.booleans()) else 5000          # full int32 range makes the epilogue sums wrap
    bias = r.integers(-bound, bound, cout).astype(np.int32)
    depth = kh * kw * (c if op == "CONV_2D" else 1)
    s_y = float(s_x * scales.mean() * np.sqrt(depth) * draw(st.sampled_from([0.5, 4.0, 64.0])))
    oh = -(-h // sh) if padding == "SAME" else (h - (kh - 1) * dh - 1) // sh + 1
    ow = -(-w // sw) if padding == "SAME" else (w - (kw - 1) * dw - 1) // sw + 1
    opts = dict(padding=padding, stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw,
                activation=draw(st.sampled_from(["NONE", "RELU", "RELU6"])))
    if op == "DEPTHWISE_CONV_2D":
        opts["depth_multiplier"] = mult
    g = one_op(op, [("x", x.shape, dtype, q(s_x, z_x))], [("w", wd, wq), ("b", bias, bq)],
               ((n, oh, ow, cout), dtype, q(s_y, draw(st.integers(lo, hi)))), OP_OPTIONS[op](**opts))
    return g, x


@st.composite
def cases(draw, op: str, big: bool = False):
    return _graph(draw, op, draw(st.sampled_from(["uint8", "int8"])), big)


def _check(g, x, prep, run_level, ref_kernel):
    assert_conv_like_equal(g, x, prep, run_level, ref_kernel, LEVELS)


@settings(max_examples=60, deadline=None)
@given(cases("CONV_2D", big=True))
def test_conv_matches_reference(case):
    g, x = case
    _check(g, x, fast_conv.prepare, fast_conv.run_level, ref_conv)


@settings(max_examples=60, deadline=None)
@given(cases("DEPTHWISE_CONV_2D"))
def test_depthwise_matches_reference(case):
    g, x = case
    _check(g, x, fast_dw.prepare, fast_dw.run_level, ref_dw)


def test_conv_extreme_accumulator_wraps_like_reference():
    """A 1x1 conv deep enough that int32 sums wrap, with extreme codes and zero points (uint8)."""
    r = np.random.default_rng(0)
    k = 40000
    x = np.full((1, 1, 2, k), 255, np.uint8)
    x[0, 0, 1] = r.integers(0, 256, k)
    w = np.zeros((3, 1, 1, k), np.uint8)
    w[1] = 255
    w[2] = r.integers(0, 256, (1, 1, k))
    opts = OP_OPTIONS["CONV_2D"](padding="VALID")
    g = one_op("CONV_2D", [("x", x.shape, "uint8", q(0.5, 0))], [("w", w, q(0.5, 255)),
               ("b", np.array([7, -(2**31), 2**31 - 1], np.int32), q(0.25))], ((1, 1, 2, 3), "uint8", q(1e3, 128)),
               opts)
    _check(g, x, fast_conv.prepare, fast_conv.run_level, ref_conv)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("n, hw, c, cout", [(2, 7, 40, 70), (1, 3, 8, 16), (1, 10, 96, 5)])
def test_pointwise_conv_read_straight_from_the_input_matches_reference(dtype, n, hw, c, cout):
    """1x1 stride-1 convs with K % 4 == 0 (the AVX2 path widens pixel rows straight from the input, flipping
    int8 bytes): several tiles, a tile tail, 8/16-channel and 32+ blocks."""
    r = np.random.default_rng(c + cout)
    lo, hi = RANGES[dtype]
    x = r.integers(lo, hi + 1, (n, hw, hw, c)).astype(dtype)
    w = r.integers(lo if dtype == "int8" else 0, 128 if dtype == "int8" else 256, (cout, 1, 1, c)).astype(dtype)
    wq = q(0.01, 0 if dtype == "int8" else 131)
    g = one_op("CONV_2D", [("x", x.shape, dtype, q(0.05, lo + 77))],
               [("w", w, wq), ("b", r.integers(-3000, 3000, cout).astype(np.int32), q(0.0005))],
               ((n, hw, hw, cout), dtype, q(0.4, lo + 20)), OP_OPTIONS["CONV_2D"](activation="RELU6"))
    _check(g, x, fast_conv.prepare, fast_conv.run_level, ref_conv)


def test_fast_set_contains_compiled_ops_and_falls_back_for_others():
    ks = kernel_set("fast")
    assert ks["CONV_2D"] is fast.KERNELS["CONV_2D"]
    assert ks["DEPTHWISE_CONV_2D"] is fast.KERNELS["DEPTHWISE_CONV_2D"]
    assert ks["ADD"] is fast.KERNELS["ADD"]
    assert ks["LOGISTIC"] is fast.KERNELS["LOGISTIC"]
    assert ks["RESHAPE"] is kernel_set("reference")["RESHAPE"]          # no fast version (a view in plans)


def test_grouped_conv_uses_reference_path():
    r = np.random.default_rng(1)
    x = r.integers(-128, 128, (1, 4, 4, 4)).astype(np.int8)
    w = r.integers(-127, 128, (4, 3, 3, 2)).astype(np.int8)
    g = one_op("CONV_2D", [("x", x.shape, "int8", q(0.1, 3))], [("w", w, q([0.01] * 4, 0)),
               ("b", np.zeros(4, np.int32), q([0.001] * 4))], ((1, 4, 4, 4), "int8", q(0.3, -2)),
               OP_OPTIONS["CONV_2D"](padding="SAME"))
    node = g.nodes[0]
    want = ref_conv.run(ref_conv.prepare(g, node), [x, w, None], ExecContext())[0]
    got = fast_conv.run(fast_conv.prepare(g, node), [x, w, None], ExecContext(num_threads=2))[0]
    assert np.array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["ADD", "MUL"]), st.sampled_from(["uint8", "int8"]),
       st.sampled_from([((2, 3, 4), (2, 3, 4)), ((1, 5, 5, 3), (1, 1, 1, 3)), ((4, 1), (1, 6))]),
       st.integers(0, 2**32 - 1), st.sampled_from(["NONE", "RELU", "RELU6"]))
def test_add_mul_tables_match_reference(op, dtype, shapes, seed, activation):
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    (sa, sb), zs = shapes, r.integers(lo, hi + 1, 3)
    scales = r.uniform(0.01, 0.2, 3).astype(np.float32)
    a, b = (r.integers(lo, hi + 1, s).astype(dtype) for s in (sa, sb))
    g = one_op(op, [("a", sa, dtype, q(scales[0], zs[0])), ("b", sb, dtype, q(scales[1], zs[1]))], [],
               (np.broadcast_shapes(sa, sb), dtype, q(scales[2] * (4 if op == "MUL" else 1), zs[2])),
               OP_OPTIONS[op](activation=activation))
    assert_kernel_equal(op, g, [a, b], fast.KERNELS)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["ADD", "MUL"]), st.sampled_from(["uint8", "int8"]), st.integers(0, 2**32 - 1),
       st.sampled_from([1, 31, 32, 33, 100, 257, 20000]), st.sampled_from([(0.01, 0.2), (0.001, 1.0), (0.5, 0.5)]),
       st.sampled_from(["NONE", "RELU", "RELU6"]), st.sampled_from([1, 2]))
def test_add_mul_arithmetic_matches_reference_at_every_level(op, dtype, seed, n, scale_range, activation, threads):
    """Same-shape ADD / MUL through intq_add / intq_mul (TFLite's arithmetic, not the table) at every ISA level:
    lengths around the 32-element step and the 8192-per-thread split, scales far apart (MUL multipliers above
    one: left shifts), saturating outputs, extreme codes."""
    from intq.runtime.fast import elementwise as fe
    from intq.runtime.reference import mul as ref_mul
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    zs = r.integers(lo, hi + 1, 3)
    scales = r.uniform(*scale_range, 3).astype(np.float32)
    scales[2] *= r.choice([0.05, 1.0, 3.0])                     # 0.05: most outputs saturate
    a, b = (r.integers(lo, hi + 1, n).astype(dtype) for _ in range(2))
    if seed % 4 == 0:
        a[: n // 2], b[n // 3:] = lo, hi
    g = one_op(op, [("a", (n,), dtype, q(scales[0], zs[0])), ("b", (n,), dtype, q(scales[1], zs[1]))], [],
               ((n,), dtype, q(scales[2], zs[2])), OP_OPTIONS[op](activation=activation))
    node = g.nodes[0]
    ref = {"ADD": ref_add, "MUL": ref_mul}[op]
    want = ref.run(ref.prepare(g, node), [a, b], ExecContext())[0]
    p = fe.KERNELS[op].prepare(g, node)
    for level in LEVELS:
        got = fe.arith_run_level(p, [a, b], threads, level)
        assert got.dtype == want.dtype and np.array_equal(got, want), f"level {level}"


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_add_input_rescale_matches_reference_for_every_code(dtype):
    """ADD's input rescale MBQM((q - z) << 20, M, s) alone (intq_add_rescale) at every level, for every code and
    300 (M, s) pairs: multipliers at both ends of [2^30, 2^31), shifts 0..-23 (beyond -19 the AVX2 code falls
    back to the 64-bit form). One unit of error here seldom reaches ADD's output, so it is tested here."""
    from intq.runtime.fast._lib import LIB, ptr
    from intq.scheme.fixedpoint import multiply_by_quantized_multiplier
    lo, hi = RANGES[dtype]
    x = np.arange(lo, hi + 1).astype(dtype)
    r = np.random.default_rng(1)
    out = np.empty(x.size, np.int32)
    for k in range(300):
        m = int(r.integers(1 << 30, 1 << 31)) if k % 3 else (1 << 30) + k if k % 2 else (1 << 31) - 1 - k
        s, z = -(k % 24), int(r.integers(lo, hi + 1))
        want = multiply_by_quantized_multiplier((x.astype(np.int32) - z) * (1 << 20), m, s)
        for level in LEVELS:
            LIB.intq_add_rescale(ptr(x), ptr(out), x.size, z, m, s, int(dtype == "int8"), level)
            assert np.array_equal(out, want), (m, s, z, level)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("scales", [(0.1, 0.1, 0.2), (0.05, 0.3, 0.3), (0.3, 0.05, 0.01), (1e-7, 1.0, 1.0),
                                    (0.02, 0.021, 0.04)])
def test_add_of_every_code_pair_matches_reference_at_every_level(dtype, scales):
    """All 65536 (a, b) code pairs through intq_add at every level: equal input scales (input shift 0),
    unequal ones, and a ratio of 1e-7 (an input shift beyond the AVX2 rescale's 19: the mbqm8 path)."""
    from intq.runtime.fast import elementwise as fe
    lo, hi = RANGES[dtype]
    codes = np.arange(lo, hi + 1)
    a, b = (x.reshape(-1).astype(dtype) for x in np.meshgrid(codes, codes))
    g = one_op("ADD", [("a", a.shape, dtype, q(scales[0], lo + 37)), ("b", b.shape, dtype, q(scales[1], hi - 5))], [],
               (a.shape, dtype, q(scales[2], lo + 128)), OP_OPTIONS["ADD"]())
    node = g.nodes[0]
    want = ref_add.run(ref_add.prepare(g, node), [a, b], ExecContext())[0]
    p = fe.KERNELS["ADD"].prepare(g, node)
    for level in LEVELS:
        assert np.array_equal(fe.arith_run_level(p, [a, b], 1, level), want), level


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["uint8", "int8"]), st.integers(0, 2**32 - 1), st.sampled_from([0.01, 0.1, 0.5, 4.0]),
       st.sampled_from([(1, 1001), (3, 10), (2, 2, 7), (2, 1)]), st.sampled_from([0.5, 1.0, 2.0]))
def test_softmax_table_matches_reference(dtype, seed, s_in, shape, beta):
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    x = r.integers(lo, hi + 1, shape).astype(dtype)
    if seed % 3 == 0:
        x[..., : shape[-1] // 2] = hi                                            # ties at the maximum
    g = one_op("SOFTMAX", [("x", shape, dtype, q(s_in, 0))], [], (shape, dtype, q(1 / 256, lo)),
               OP_OPTIONS["SOFTMAX"](beta=beta))
    assert_kernel_equal("SOFTMAX", g, [x], fast.KERNELS)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_softmax_rows_split_over_threads_match_reference(dtype):
    """64 rows of 1001 codes (over 8192 a thread): rows split over 2 threads, run and planned (the plan's
    output buffer starts zeroed, so a row left out would show)."""
    from intq.runtime.fast import softmax as fast_softmax
    lo, hi = RANGES[dtype]
    x = np.random.default_rng(5).integers(lo, hi + 1, (64, 1001)).astype(dtype)
    g = one_op("SOFTMAX", [("x", x.shape, dtype, q(0.1, 0))], [], (x.shape, dtype, q(1 / 256, lo)),
               OP_OPTIONS["SOFTMAX"](beta=1.0))
    want = Interpreter(g, kernels="reference").run(x)[0]
    p = fast.KERNELS["SOFTMAX"].prepare(g, g.nodes[0])
    for threads in (2, 1):
        assert np.array_equal(fast_softmax.run_threads(p, x, threads), want), threads
        assert np.array_equal(planned_run(Interpreter(g, num_threads=threads), x)[0], want), threads


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["uint8", "int8"]), st.booleans(), st.integers(0, 2**32 - 1),
       st.sampled_from([((1, 7), 7), ((3, 40), 40), ((2, 3, 5), 5), ((2, 2, 2, 9), 36), ((5, 300), 300)]),
       st.integers(1, 70), st.booleans())
def test_fully_connected_matches_reference(dtype, per_channel, seed, in_shape, units, keep):
    (shape, depth), r = in_shape, np.random.default_rng(seed)
    per_channel = per_channel and dtype == "int8"
    keep = keep and shape[-1] == depth
    lo, hi = RANGES[dtype]
    x = r.integers(lo, hi + 1, shape).astype(dtype)
    w = r.integers(lo, hi + 1, (units, depth)).astype(dtype)
    if per_channel:
        w[w == -128] = -127
        scales = r.uniform(0.001, 0.02, units).astype(np.float32)
        wq, bq = q(scales, 0, 0), q(scales * np.float32(0.1), 0, 0)
    else:
        wq, bq = q(0.01, int(r.integers(lo, hi + 1))), q(0.001)
    bias = r.integers(-(2**31), 2**31, units).astype(np.int32) if seed % 2 else r.integers(-999, 999, units).astype(np.int32)
    rows = int(np.prod(shape)) // depth
    out_shape = shape[:-1] + (units,) if keep else (rows, units)
    g = one_op("FULLY_CONNECTED", [("x", shape, dtype, q(0.1, int(r.integers(lo, hi + 1))))],
               [("w", w, wq), ("b", bias, bq)], (out_shape, dtype, q(0.1 * 0.01 * np.sqrt(depth) * 8, 3)),
               OP_OPTIONS["FULLY_CONNECTED"](keep_num_dims=keep, activation="RELU" if seed % 3 == 0 else "NONE"))
    from intq.runtime.fast import fully_connected as fast_fc
    from intq.runtime.reference import fully_connected as ref_fc
    node = g.nodes[0]
    want = ref_fc.run(ref_fc.prepare(g, node), [x, w, bias], ExecContext())[0]
    p = fast_fc.prepare(g, node)
    for level in LEVELS:
        for threads in (1, 2):
            got = fast_fc.run_level(p, x, threads, level)
            assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(*pool_draws(14, [1, 5, 32, 600], 7))
def test_average_pool_matches_reference(dtype, seed, n, h, w, c, kh, kw, sh, sw, padding, activation):
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    if seed % 4 == 1:                                                 # >= 16 taps
        h, w, kh, kw = max(h, 4), max(w, 4), max(kh, 4), max(kw, 4)
    kh, kw = min(kh, h), min(kw, w)
    if seed % 4 == 0:                                                 # the global pool that ends MobileNets
        kh, kw, sh, sw, padding = h, w, 1, 1, "VALID"
    x = r.integers(lo, hi + 1, (n, h, w, c)).astype(dtype)
    if seed % 8 == 2:                                                 # all-extreme windows: rounding at the ends
        x[...] = lo if seed % 16 == 2 else hi
    quant = q(float(r.choice([0.02, 0.1, 1.0])), int(r.integers(lo, hi + 1)))
    g = pool_graph("AVERAGE_POOL_2D", x, kh, kw, sh, sw, padding, activation, quant)
    _average_pool_equal(g, x)


def _average_pool_equal(g, x: np.ndarray) -> None:
    """The fast AVERAGE_POOL_2D equals the reference at every ISA level, and so does its plan record."""
    assert_kernel_equal("AVERAGE_POOL_2D", g, [x], fast.KERNELS)
    want = Interpreter(g, kernels="reference").run(x)[0]
    p = fast.KERNELS["AVERAGE_POOL_2D"].prepare(g, g.nodes[0])
    for level in LEVELS:
        for threads in (1, 2):                                        # rows split from 8192 outputs a thread
            got = fast_pool.run_average_level(p, x, level, threads)
            assert got.dtype == want.dtype and np.array_equal(got, want), (level, threads)
    for threads in (1, 2):                                            # every window has a plan record
        it = Interpreter(g, num_threads=threads)
        assert it._plan is not None
        got = planned_run(it, x)[0]
        assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("hw, k, stride, padding", [(14, 12, 1, "SAME"), (13, 12, 3, "VALID"), (20, 16, 2, "SAME"),
                                                    (12, 11, 1, "SAME")])
def test_average_pool_of_over_128_taps_matches_reference(dtype, hw, k, stride, padding):
    """Windows of more than 128 taps (121 for k = 11, whose in-image windows are smaller) sum in int32 and
    divide in double precision; each extreme (all lowest, all highest codes) and random codes."""
    lo, hi = RANGES[dtype]
    r = np.random.default_rng(hw * k)
    for x in (np.full((2, hw, hw, 40), lo, dtype), np.full((2, hw, hw, 40), hi, dtype),
              r.integers(lo, hi + 1, (2, hw, hw, 300)).astype(dtype)):
        g = pool_graph("AVERAGE_POOL_2D", x, k, k, stride, stride, padding, "NONE", q(0.1, int(r.integers(lo, hi + 1))))
        _average_pool_equal(g, x)


def test_fast_set_has_pool_and_mean():
    ks = kernel_set("fast")
    assert ks["AVERAGE_POOL_2D"] is fast.KERNELS["AVERAGE_POOL_2D"] and ks["MEAN"] is fast.KERNELS["MEAN"]
