"""Helpers of the fast-kernel tests: conv-like cases, and a fast kernel against the reference, byte for byte."""
from __future__ import annotations

import numpy as np

from intq.ir.ops import OP_OPTIONS
from intq.runtime.kernels import ExecContext, kernel_set
from reference_cases import one_op, q
from strategies import RANGES, conv_out


def conv_like_case(op: str, shape, cout: int, window, stride: int, dilation: int, padding: str, dtype: str,
                   seed: int, *, spread, bias_bound: int, gain: float, **options):
    """(graph, input) of one CONV_2D / DEPTHWISE_CONV_2D node on an NHWC input of ``shape``, random from
    ``seed``: a ``window`` = (kh, kw) filter with ``cout`` output channels, uint8 weights per-tensor (scale
    0.01), int8 weights per-channel with scales uniform in ``spread``; biases in [-bias_bound, bias_bound),
    output scale ``gain`` * s_x * mean weight scale * sqrt(taps per output), RELU6 on odd seeds.
    ``options``: the op's other options (depth_multiplier)."""
    n, h, w, c = shape
    kh, kw = window
    conv = op == "CONV_2D"
    r = np.random.default_rng(seed)
    lo, hi = RANGES[dtype]
    x = r.integers(lo, hi + 1, shape).astype(dtype)
    wd = r.integers(lo, hi + 1, (cout, kh, kw, c) if conv else (1, kh, kw, cout)).astype(dtype)
    s_x = 0.05
    if dtype == "uint8":
        scales = np.full(cout, np.float32(0.01))
        wq, bq = q(np.float32(0.01), int(r.integers(0, 256))), q(np.float32(s_x) * np.float32(0.01))
    else:
        scales = r.uniform(*spread, cout).astype(np.float32)
        wq, bq = q(scales, 0, 0 if conv else 3), q((np.float32(s_x) * scales).astype(np.float32), 0, 0)
    bias = r.integers(-bias_bound, bias_bound, cout).astype(np.int32)
    s_y = float(s_x * float(scales.mean()) * np.sqrt(kh * kw * (c if conv else 1)) * gain)
    out = (n, conv_out(h, kh, stride, dilation, padding), conv_out(w, kw, stride, dilation, padding), cout)
    opts = OP_OPTIONS[op](padding=padding, stride_h=stride, stride_w=stride, dilation_h=dilation,
                          dilation_w=dilation, activation="RELU6" if seed % 2 else "NONE", **options)
    g = one_op(op, [("x", x.shape, dtype, q(s_x, int(r.integers(lo, hi + 1))))],
               [("w", wd, wq), ("b", bias, bq)], (out, dtype, q(s_y, int(r.integers(lo, hi + 1)))), opts)
    return g, x


def assert_conv_like_equal(g, x, prep, run_level, ref_kernel, levels) -> None:
    """A one-node CONV_2D / DEPTHWISE_CONV_2D graph (inputs x, "w", "b") at every ISA level in ``levels``
    and 1 and 2 threads equals the reference kernel."""
    node = g.nodes[0]
    want = ref_kernel.run(ref_kernel.prepare(g, node), [x, g.tensor("w").data, g.tensor("b").data],
                          ExecContext())[0]
    p = prep(g, node)
    for level in levels:
        for threads in (1, 2):
            got = run_level(p, x, threads, level)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want), f"level {level} threads {threads}"


def planned_run(it, *inputs) -> list[np.ndarray]:
    """The outputs of Interpreter ``it``'s one-call plan itself (Interpreter.run would fall back to the
    node-by-node path if the plan refused the inputs, hiding a plan that never runs), run by Plan.run and, where
    it was built, by the plan's C entry (csrc/python/intq_entry.c), which must give the same arrays."""
    plan = it._plan if it._plan is not None and it._plan.accepts(list(inputs)) else \
        it._other_plans.get(tuple(x.shape for x in inputs))
    assert plan is not None, "no plan for these inputs"
    xs = [np.ascontiguousarray(x) for x in inputs]
    outs = plan.run(xs)
    assert outs is not None
    if plan.entry is not None:
        again = plan.entry(*xs)
        assert again is not None, "the plan's C entry declined its planned inputs"
        assert all(a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) for a, b in zip(outs, again))
    return outs


def assert_kernel_equal(op: str, g, inputs: list, fast_kernels) -> None:
    """``fast_kernels[op]`` and the reference kernel give the same array on a one-node graph."""
    ref_k, fast_k = kernel_set("reference")[op], fast_kernels[op]
    node = g.nodes[0]
    want = ref_k.run(ref_k.prepare(g, node), inputs, ExecContext())[0]
    got = fast_k.run(fast_k.prepare(g, node), inputs, ExecContext())[0]
    assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
