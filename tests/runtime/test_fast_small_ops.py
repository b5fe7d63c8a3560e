"""Fast LOGISTIC, TANH, RELU, RELU6 (tables), the byte gather, SPLIT and ARG_MAX (C) and the SQUEEZE view equal
the reference byte for byte, run node by node and planned (so graphs with them keep the one-call plan)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.ir.graph import Graph
from intq.ir.ops import ArgMaxOptions, SplitOptions, SqueezeOptions
from intq.runtime.interpreter import Interpreter
from intq.runtime.kernels import ExecContext, kernel_set
from fast_cases import planned_run
from reference_cases import one_op, q
from strategies import RANGES, shape_and_axis

fast = pytest.importorskip("intq.runtime.fast", reason="fast kernels not built", exc_type=ImportError)

OUT = {("LOGISTIC", "uint8"): (1 / 256, 0), ("LOGISTIC", "int8"): (1 / 256, -128)}


def _codes(dtype: str, shape, r: np.random.Generator) -> np.ndarray:
    lo, hi = RANGES[dtype]
    return r.integers(lo, hi + 1, shape).astype(dtype)


def _same_everywhere(g: Graph, x: np.ndarray, op: str | None = None) -> None:
    """The fast kernel of ``op`` (node by node) and the fast Interpreter's plan (1 and 2 threads) give the
    reference Interpreter's outputs, and the graph is planned."""
    want = Interpreter(g, kernels="reference").run(x)
    if op is not None:
        ref_k, fast_k = kernel_set("reference")[op], fast.KERNELS[op]
        node = g.nodes[0]
        ins = [x if n == g.inputs[0] else g.tensor(n).data for n in node.inputs]
        got = fast_k.run(fast_k.prepare(g, node), ins, ExecContext())
        ref = ref_k.run(ref_k.prepare(g, node), ins, ExecContext())
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(got, ref))
    for threads in (1, 2):
        it = Interpreter(g, num_threads=threads)
        assert it._plan is not None
        got = planned_run(it, x)
        assert len(got) == len(want)
        assert all(a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) for a, b in zip(got, want))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["LOGISTIC", "TANH", "RELU", "RELU6"]), st.sampled_from(["uint8", "int8"]),
       st.floats(0.002, 0.5), st.integers(0, 255), st.floats(0.01, 0.2), st.integers(0, 255), st.integers(0, 2**32 - 1))
def test_activation_tables(op, dtype, s_in, zp_in, s_out, zp_out, seed):
    lo = RANGES[dtype][0]
    s_out, z_out = OUT.get((op, dtype), (s_out, lo + zp_out))
    g = one_op(op, [("x", (2, 5, 7, 3), dtype, q(s_in, lo + zp_in))], [], ((2, 5, 7, 3), dtype, q(s_out, z_out)))
    _same_everywhere(g, _codes(dtype, (2, 5, 7, 3), np.random.default_rng(seed)), op)


def test_activation_tables_cover_every_code():
    """All 256 input codes, each op and dtype (a table indexed by the wrong byte would differ somewhere)."""
    for op in ("LOGISTIC", "TANH", "RELU", "RELU6"):
        for dtype in ("uint8", "int8"):
            lo = RANGES[dtype][0]
            s_out, z_out = OUT.get((op, dtype), (0.03, lo + 40))
            g = one_op(op, [("x", (1, 256), dtype, q(0.05, lo + 100))], [], ((1, 256), dtype, q(s_out, z_out)))
            _same_everywhere(g, (np.arange(256) + lo).astype(dtype).reshape(1, 256), op)


@pytest.mark.parametrize("n", [1, 31, 32, 33, 256 * 5 + 17, 40_001])
def test_byte_table_gather_at_every_level(n):
    """The 1-byte table gather (intq_lut1; the AVX2 code takes 192 bytes per step, then 32, the tail is
    scalar; split over 2 threads from 8192 bytes each) equals NumPy's take for every code, on random tables and on ones
    with a single nonzero entry (so a look-up of the wrong row or half cannot hide behind equal entries)."""
    from intq.runtime.fast.layout import gather_run
    r = np.random.default_rng(n)
    x = r.integers(0, 256, n) if n < 256 else np.concatenate([np.arange(256), r.integers(0, 256, n - 256)])
    x = x.astype(np.uint8)
    tables = [r.integers(0, 256, 256).astype(np.uint8)]
    for k in sorted({0, 15, 16, 127, 128, 129, 255} | {17 * r for r in range(16)}):     # every row, both halves
        t = np.zeros(256, np.uint8)
        t[k] = 200
        tables.append(t)
    for table in tables:
        for threads in (2, 1):              # 2 first: a part left out would keep another table's bytes
            for level in range(fast.ISA_LEVEL + 1):
                assert np.array_equal(gather_run(x, table, level, threads), table[x]), (level, threads)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(1, 4), st.sampled_from(["uint8", "int8", "int32", "float32"]))
def test_split(data, n, dtype):
    shape, axis = shape_and_axis(data.draw, 5)
    shape[axis] *= n
    qq = q(0.05, 3) if dtype in ("uint8", "int8") else None
    g = Graph()
    g.add_tensor("x", shape, dtype, qq)
    g.add_constant("axis", np.array([axis], np.int32))
    part = list(shape)
    part[axis] //= n
    outs = [g.add_tensor(f"y{i}", part, dtype, qq) for i in range(n)]
    g.add_node("SPLIT", ["axis", "x"], outs, SplitOptions(n))
    g.inputs, g.outputs = ["x"], outs
    r = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = (r.standard_normal(shape) * 50).astype(dtype) if dtype in ("int32", "float32") else _codes(dtype, shape, r)
    _same_everywhere(g, x, "SPLIT")


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from(["uint8", "int8", "int32", "float32"]), st.sampled_from(["int32", "int64"]),
       st.integers(0, 3))
def test_arg_max(data, dtype, out_type, few):
    shape, axis = shape_and_axis(data.draw, 6)
    r = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    lo, hi = RANGES.get(dtype, (-1000, 1000))
    x = r.integers(lo, hi + 1, shape).astype(dtype) if few == 0 else \
        r.integers(lo, lo + few + 1, shape).astype(dtype)          # few distinct values: many ties, first wins
    if dtype == "float32":
        x = x / np.float32(7)
        x[x == x.flat[0]] = -0.0 if few else x.flat[0]              # -0.0 ties with 0.0
    out_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    quant = q(0.1, 0) if dtype in RANGES else None
    g = one_op("ARG_MAX", [("x", tuple(shape), dtype, quant)], [("axis", np.array([axis], np.int32), None)],
               (out_shape, out_type, None), ArgMaxOptions(out_type))
    _same_everywhere(g, x, "ARG_MAX")                              # rank-1 inputs: a rank-0 output


def test_arg_max_of_float_nan_is_the_first_nan():
    """NaN (which Interpreter.run refuses as an input, but a float tensor inside a graph may hold) is the
    maximum and the first one wins, as in the reference's np.argmax; the kernel alone, on rows with NaN first,
    last, twice, beside inf, and none."""
    nan, inf = np.float32("nan"), np.float32("inf")
    x = np.array([[nan, 1, 2, 3], [1, 2, 3, nan], [1, nan, 5, nan], [inf, 1, nan, 2], [1, inf, -inf, 0],
                  [-0.0, 0.0, -1, -0.0]], np.float32)
    for axis, shape in ((1, (6,)), (0, (4,))):
        g = one_op("ARG_MAX", [("x", x.shape, "float32", None)], [("axis", np.array([axis], np.int32), None)],
                   (shape, "int64", None), ArgMaxOptions("int64"))
        node = g.nodes[0]
        ref_k, fast_k = kernel_set("reference")["ARG_MAX"], fast.KERNELS["ARG_MAX"]
        want = ref_k.run(ref_k.prepare(g, node), [x, np.array([axis], np.int32)], ExecContext())[0]
        got = fast_k.run(fast_k.prepare(g, node), [x, np.array([axis], np.int32)], ExecContext())[0]
        assert got.dtype == want.dtype and np.array_equal(got, want), axis


def test_arg_max_of_int16_uses_the_reference_and_no_plan():
    g = one_op("ARG_MAX", [("x", (2, 9), "int16", None)], [("axis", np.array([1], np.int32), None)],
               ((2,), "int32", None), ArgMaxOptions("int32"))
    x = np.random.default_rng(1).integers(-1000, 1000, (2, 9)).astype(np.int16)
    it = Interpreter(g)
    assert it._plan is None
    assert np.array_equal(it.run(x)[0], np.argmax(x, axis=1).astype(np.int32))


def test_squeeze_is_a_view_in_the_plan():
    """conv-free graph: SQUEEZE then RELU; the plan has one record (the RELU) and the reference's bytes."""
    g = Graph()
    qq = q(0.05, 10)
    g.add_tensor("x", (1, 4, 1, 6), "uint8", qq)
    g.add_tensor("s", (1, 4, 6), "uint8", qq)
    g.add_tensor("y", (1, 4, 6), "uint8", q(0.04, 5))
    g.add_node("SQUEEZE", ["x"], ["s"], SqueezeOptions((2,)))
    g.add_node("RELU", ["s"], ["y"])
    g.inputs, g.outputs = ["x"], ["y"]
    it = Interpreter(g)
    assert it._plan is not None and len(it._plan.records) == 1
    _same_everywhere(g, _codes("uint8", (1, 4, 1, 6), np.random.default_rng(3)))
