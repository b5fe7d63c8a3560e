"""Bit-exactness of intq against LiteRT's reference kernels: the same .tflite bytes through both.

For every op in intq.ir.OP_OPTIONS, uint8 and int8, random one-op graphs (tests/op_cases.py) are written
by intq's exporter, run by LiteRT (BUILTIN_REF, 1 thread) and by intq.Interpreter with each kernel set,
and compared with np.array_equal. Small multi-op graphs are compared tensor by tensor.

Known disagreement, measured below: LiteRT 2.3.0's *reference* FULLY_CONNECTED requantizes in double,
``round_half_away(acc * (double)M) + z_out``, while intq (like TFLite's int8/optimized kernels, TFLM and
the paper) uses the integer MultiplyByQuantizedMultiplier, whose two roundings (SRDHM, then a rounding
right shift) differ by 1 LSB from the single rounding on rare near-ties. FULLY_CONNECTED outputs are
therefore held to 1 LSB in the property tests, and exact equality is an xfail(strict=True).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intq.io import graph_to_tflite_bytes
from intq.ir import OP_OPTIONS, Graph, Quantization, format_graph
from intq.runtime import Interpreter
from intq.scheme.qparams import round_half_away
from op_cases import op_case
from oracles import run_litert
from strategies import RANGES, Case, qparams, random_q, rng, weights

KERNEL_SETS = ("reference", "fast")
DTYPES = ("uint8", "int8")
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLOAT_REQUANT_OPS = ("FULLY_CONNECTED",)      # LiteRT ref requantizes these in double: 1 LSB allowed


def compare(name: str, y: np.ndarray, e: np.ndarray, graph: Graph, tolerance: int = 0) -> bool:
    """Assert intq's ``y`` equals LiteRT's ``e`` (within ``tolerance`` LSB); return whether exactly equal."""
    assert y.dtype == e.dtype and y.shape == e.shape, f"{name}: {y.dtype}{y.shape} vs LiteRT {e.dtype}{e.shape}"
    if np.array_equal(y, e):
        return True
    diff = np.abs(y.astype(np.float64) - e.astype(np.float64))
    if y.dtype.kind in "iu" and diff.max() <= tolerance:
        return False
    raise AssertionError(f"{name}: {int((y != e).sum())}/{y.size} elements differ, max |diff| {diff.max()}\n"
                         f"{format_graph(graph)}\nintq:   {y.ravel()[:16]}\nLiteRT: {e.ravel()[:16]}")


def assert_same_as_litert(graph: Graph, inputs, kernels: str) -> None:
    expected = run_litert(graph_to_tflite_bytes(graph), inputs)
    got = Interpreter(graph, kernels=kernels).run(*inputs)
    assert len(got) == len(expected)
    tolerance = 1 if any(n.op in FLOAT_REQUANT_OPS for n in graph.nodes) else 0
    for name, e, y in zip(graph.outputs, expected, got):
        compare(name, y, e, graph, tolerance)


@pytest.mark.parametrize("kernels", KERNEL_SETS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(OP_OPTIONS))
@EXAMPLES
@given(data=st.data())
def test_one_op_graph_matches_litert(op, dtype, kernels, data):
    graph, inputs = data.draw(op_case(op, dtype), label=f"{op} {dtype} case")
    assert_same_as_litert(graph, inputs, kernels)


BATCH_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "RESIZE_BILINEAR", "RELU",
             "QUANTIZE", "DEQUANTIZE")


@pytest.mark.parametrize("kernels", KERNEL_SETS)
@pytest.mark.parametrize("op", BATCH_OPS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_other_batch_size_than_declared_matches_litert(op, kernels, data):
    """Graphs run on a batch other than the declared one (LiteRT resizes its input; intq takes any batch)."""
    dtype = data.draw(st.sampled_from(DTYPES))
    graph, (x,) = data.draw(op_case(op, dtype))
    batch = data.draw(st.integers(1, 4).filter(lambda b: b != x.shape[0]))
    x = np.resize(x, (batch,) + x.shape[1:])                     # repeats the drawn data
    (e,) = run_litert(graph_to_tflite_bytes(graph), [x])
    (y,) = Interpreter(graph, kernels=kernels).run(x)
    compare(graph.outputs[0], y, e, graph)


# --- multi-op graphs --------------------------------------------------------------------------------------
@st.composite
def residual_net(draw, dtype: str):
    """x -> conv -> depthwise -> add(conv, dw) -> concat(add, conv) -> global avgpool -> reshape -> fc -> softmax."""
    r = rng(draw)
    n, h, w, cin, ch = (draw(st.integers(1, 2)), draw(st.integers(2, 6)), draw(st.integers(2, 6)),
                        draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    units = draw(st.integers(2, 6))
    c = Case("residual_net")
    xq = draw(qparams(dtype))
    x = c.input("x", random_q(r, (n, h, w, cin), dtype), xq)

    def act_q():
        return Quantization.per_tensor(draw(st.floats(0.01, 0.1)), draw(st.integers(*RANGES[dtype])))

    def weighted(op, name, inp, in_q, shape, axis, out_q, **opts):
        filt, wq, bq = draw(weights(r, shape, dtype, axis, in_q.single_scale))
        c.const(f"{name}_w", filt, wq)
        c.const(f"{name}_b", random_q(r, (shape[axis],), "int32"), bq)
        out_shape = (n, shape[0]) if op == "FULLY_CONNECTED" else (n, h, w, shape[axis])
        c.g.add_tensor(name, out_shape, dtype, out_q)
        c.g.add_node(op, [inp, f"{name}_w", f"{name}_b"], [name], OP_OPTIONS[op](**opts))
        return name

    conv_q = act_q()
    conv = weighted("CONV_2D", "conv", x, xq, (ch, 3, 3, cin), 0, conv_q, padding="SAME", activation="RELU6")
    dw = weighted("DEPTHWISE_CONV_2D", "dw", conv, conv_q, (1, 3, 3, ch), 3, act_q(), padding="SAME",
                  activation=draw(st.sampled_from(["NONE", "RELU"])))
    add_q = conv_q if dtype == "int8" else act_q()      # int8 CONCATENATION needs equal qparams
    c.g.add_tensor("add", (n, h, w, ch), dtype, add_q)
    c.g.add_node("ADD", [conv, dw], ["add"])
    c.g.add_tensor("cat", (n, h, w, 2 * ch), dtype, add_q)
    c.g.add_node("CONCATENATION", ["add", conv], ["cat"], OP_OPTIONS["CONCATENATION"](axis=3))
    c.g.add_tensor("pool", (n, 1, 1, 2 * ch), dtype, add_q)
    c.g.add_node("AVERAGE_POOL_2D", ["cat"], ["pool"], OP_OPTIONS["AVERAGE_POOL_2D"](padding="VALID", filter_h=h,
                                                                                     filter_w=w))
    c.const("shape", np.array([n, 2 * ch], np.int32))
    c.g.add_tensor("flat", (n, 2 * ch), dtype, add_q)
    c.g.add_node("RESHAPE", ["pool", "shape"], ["flat"], OP_OPTIONS["RESHAPE"](new_shape=(n, 2 * ch)))
    fc = weighted("FULLY_CONNECTED", "fc", "flat", add_q, (units, 2 * ch), 0, act_q())
    out = c.output("probs", (n, units), dtype, Quantization.per_tensor(1 / 256, 0 if dtype == "uint8" else -128))
    c.g.add_node("SOFTMAX", [fc], [out])
    return c.result()


@pytest.mark.parametrize("kernels", KERNEL_SETS)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_multi_op_graph_matches_litert_tensor_by_tensor(dtype, kernels, data):
    """Every tensor equal; a FULLY_CONNECTED output may be 1 LSB off, and then only its consumers are skipped."""
    graph, inputs = data.draw(residual_net(dtype))
    expected = run_litert(graph_to_tflite_bytes(graph), inputs, all_tensors=True)
    got = Interpreter(graph, kernels=kernels).run(*inputs, intermediates=True)
    tainted: set[str] = set()
    for node in graph.nodes:
        if any(i in tainted for i in node.inputs):
            tainted.update(node.outputs)
            continue
        for name in node.outputs:
            exact = compare(name, got[name], expected[name], graph, 1 if node.op in FLOAT_REQUANT_OPS else 0)
            if not exact:
                tainted.add(name)
    assert len(tainted) < len(graph.nodes)          # at least the layers before the FC were compared


# --- the known FULLY_CONNECTED disagreement, measured -------------------------------------------------------
def _fc_batch(seed: int = 0, cases: int = 200):
    """Deterministic random FC graphs (uint8, int8 per-tensor and per-channel), multipliers log-uniform in [2^-8, 1]."""
    r = np.random.default_rng(seed)
    for i in range(cases):
        dtype = DTYPES[i % 2]
        per_channel = dtype == "int8" and i % 4 == 1
        lo, hi = RANGES[dtype]
        k, units, n = int(r.integers(1, 65)), int(r.integers(1, 17)), int(r.integers(1, 5))
        s_in = float(np.float32(np.exp(r.uniform(np.log(1e-3), 0.0))))
        nw = units if per_channel else 1
        s_w = np.exp(r.uniform(np.log(1e-3), np.log(0.1), nw)).astype(np.float32)
        z_w = int(r.integers(0, 256)) if dtype == "uint8" else 0
        w = (r.integers(0, 256, (units, k)) if dtype == "uint8" else r.integers(-127, 128, (units, k))).astype(dtype)
        multiplier = np.exp(r.uniform(np.log(2.0**-8), 0.0))
        c = Case("fc")
        x = c.input("x", r.integers(lo, hi + 1, (n, k)).astype(dtype),
                    Quantization.per_tensor(s_in, int(r.integers(lo, hi + 1))))
        c.const("w", w, Quantization(s_w, np.full(nw, z_w), 0))
        c.const("b", r.integers(-3000, 3001, units).astype(np.int32),
                Quantization((np.float32(s_in) * s_w).astype(np.float32), np.zeros(nw), 0))
        y = c.output("y", (n, units), dtype, Quantization.per_tensor(float(np.float32(s_in * s_w.max() / multiplier)),
                                                                     int(r.integers(lo, hi + 1))))
        yield c.node("FULLY_CONNECTED", [x, "w", "b"], [y]).result()


def _float_requant_fc(graph: Graph, x: np.ndarray) -> np.ndarray:
    """LiteRT 2.3.0's reference FC as measured: int acc, then round_half_away(acc * (double)s_in*s_w/s_out) + z_out."""
    t = graph.tensors
    w, b, xq, yq = t["w"], t["b"], t["x"].quant, t["y"].quant
    acc = (x.astype(np.int64) - xq.single_zero_point) @ (w.data.astype(np.int64) - w.quant.zero_point[0]).T
    acc = acc + b.data
    s_w = np.broadcast_to(w.quant.scale, (w.shape[0],)).astype(np.float64)
    m = np.float64(xq.scale[0]) * s_w / np.float64(yq.scale[0])
    lo, hi = RANGES[t["y"].dtype]
    return np.clip(round_half_away(acc * m) + yq.single_zero_point, lo, hi).astype(t["y"].dtype)


def test_fully_connected_disagreement_is_rare_and_one_lsb():
    """Measures it: LiteRT == the float-requant emulation exactly; intq within 1 LSB of it, on ~1% of elements."""
    unclamped = differ = 0
    for graph, inputs in _fc_batch():
        (e,) = run_litert(graph_to_tflite_bytes(graph), inputs)
        (y,) = Interpreter(graph, kernels="reference").run(*inputs)
        assert np.array_equal(e, _float_requant_fc(graph, inputs[0])), "LiteRT is not the float-requant path"
        assert np.abs(y.astype(np.int64) - e).max() <= 1
        lo, hi = RANGES[str(y.dtype)]
        inside = (e > lo) & (e < hi)
        unclamped += int(inside.sum())
        differ += int(((y != e) & inside).sum())
    rate = differ / max(unclamped, 1)
    print(f"FULLY_CONNECTED: {differ}/{unclamped} unclamped outputs differ by 1 LSB ({rate:.2%})")
    assert rate < 0.05


@pytest.mark.xfail(strict=True, reason="LiteRT 2.3.0 reference FULLY_CONNECTED requantizes in double "
                                       "(round(acc*M)); intq uses integer MBQM (double rounding): 1 LSB on near-ties")
def test_fully_connected_bit_exact_with_litert():
    for graph, inputs in _fc_batch():
        (e,) = run_litert(graph_to_tflite_bytes(graph), inputs)
        (y,) = Interpreter(graph, kernels="reference").run(*inputs)
        assert np.array_equal(y, e)
