"""tests for intq.io.tflite_export (with the importer): load -> save -> load, LiteRT on re-saved bytes, save_tflite."""
from __future__ import annotations

import os

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import intq
from intq.io import graph_to_tflite_bytes, load_tflite, load_tflite_bytes, save_tflite
from intq.io import tflite_schema
from intq.ir import OP_OPTIONS, Graph, Quantization
from op_cases import op_case
from oracles import run_litert

MODELS = ("mobilenet_v1_0.25_128_quant", "mobilenet_v2_1.0_224_quant")
IMAGES = ("cat", "grace_hopper", "bird", "sunflower")


def assert_graphs_equal(a: Graph, b: Graph) -> None:
    """Same tensors (name, shape, dtype, quantization, constant bytes), nodes, inputs and outputs."""
    assert list(a.tensors) == list(b.tensors)
    for name, ta in a.tensors.items():
        tb = b.tensors[name]
        assert (ta.shape, ta.dtype, ta.quant) == (tb.shape, tb.dtype, tb.quant), name
        assert (ta.data is None) == (tb.data is None), name
        if ta.data is not None:
            assert ta.data.dtype == tb.data.dtype and np.array_equal(ta.data, tb.data), name
    assert [(n.op, n.inputs, n.outputs, _stored(n.options)) for n in a.nodes] == \
           [(n.op, n.inputs, n.outputs, _stored(n.options)) for n in b.nodes]
    assert (a.inputs, a.outputs) == (b.inputs, b.outputs)


def _stored(options):
    """Options as a .tflite file can hold them: float fields (SOFTMAX beta) are float32 there."""
    return dataclasses.replace(options, beta=float(np.float32(options.beta))) if hasattr(options, "beta") else options


@pytest.fixture(scope="module", params=MODELS)
def model(request, shared_data):
    path = shared_data / "tflite-quant-models" / f"{request.param}.tflite"
    return request.param, path, path.read_bytes()


def test_schema_tables_cover_every_ir_op():
    assert set(tflite_schema.OPTION_TABLES) == set(OP_OPTIONS) == set(tflite_schema.OP_VERSIONS)
    for op in OP_OPTIONS:
        assert op in tflite_schema.BUILTIN_NAME2CODE


def test_shared_model_loads_with_expected_structure(model):
    name, path, _ = model
    g = load_tflite(path)
    intq.ir.verify(g)
    x = g.tensor(g.inputs[0])
    assert x.dtype == "uint8" and x.shape == ((1, 128, 128, 3) if "v1" in name else (1, 224, 224, 3))
    assert g.tensor(g.outputs[0]).shape == (1, 1001)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX"} <= set(g.op_counts())
    conv = next(n for n in g.nodes if n.op == "CONV_2D")
    w, b = g.tensor(conv.inputs[1]), g.tensor(conv.inputs[2])
    assert w.dtype == "uint8" and w.data is not None and w.data.shape == w.shape and b.dtype == "int32"
    assert conv.options.stride_h == 2 and conv.options.padding == "SAME"


def test_load_save_load_is_identity_and_bytes_are_stable(model):
    _, _, data = model
    g1 = load_tflite_bytes(data)
    b1 = graph_to_tflite_bytes(g1)
    g2 = load_tflite_bytes(b1)
    assert_graphs_equal(g1, g2)
    assert graph_to_tflite_bytes(g2) == b1


def test_resaved_model_runs_in_litert_like_the_original(model, shared_data):
    name, _, data = model
    resaved = graph_to_tflite_bytes(load_tflite_bytes(data))
    golden = np.load(shared_data / "tflite-reference-outputs" / f"{name}.npz")
    for img in IMAGES if "v1" in name else IMAGES[:2]:
        x = golden[f"input_{img}"]
        (out,) = run_litert(resaved, [x])
        (orig,) = run_litert(data, [x])
        assert np.array_equal(out, orig) and np.array_equal(out, golden[f"ref_{img}"]), img


def _tiny_graph(dtype: str = "uint8") -> Graph:
    g = Graph(name="tiny")
    lo, hi = (0, 255) if dtype == "uint8" else (-128, 127)
    zp = 128 if dtype == "uint8" else 0
    g.add_tensor("x", (1, 4, 4, 3), dtype, Quantization.per_tensor(0.05, zp))
    w = np.random.default_rng(0).integers(lo, hi + 1, (2, 3, 3, 3)).astype(dtype)
    wq = Quantization.per_tensor(0.02, zp) if dtype == "uint8" else \
        Quantization(np.array([0.02, 0.03], np.float32), np.zeros(2, np.int64), 0)
    g.add_constant("w", w, wq)
    g.add_constant("b", np.array([5, -7], np.int32), Quantization(0.05 * wq.scale, np.zeros(wq.scale.size), 0))
    g.add_tensor("y", (1, 2, 2, 2), dtype, Quantization.per_tensor(0.1, lo + 10))
    g.add_node("CONV_2D", ["x", "w", "b"], ["y"], OP_OPTIONS["CONV_2D"](padding="VALID", stride_h=2, stride_w=2,
                                                                       activation="RELU6"))
    g.add_tensor("z", (1, 8), dtype, Quantization.per_tensor(0.1, lo + 10))
    g.add_constant("shape", np.array([1, 8], np.int32))
    g.add_node("RESHAPE", ["y", "shape"], ["z"], OP_OPTIONS["RESHAPE"](new_shape=(1, 8)))
    g.inputs, g.outputs = ["x"], ["z"]
    return g


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_tiny_graph_roundtrip_keeps_per_channel_quantization(dtype):
    g = _tiny_graph(dtype)
    g2 = load_tflite_bytes(graph_to_tflite_bytes(g))
    assert_graphs_equal(g, g2)
    assert g2.tensor("w").quant.per_channel == (dtype == "int8")
    assert g2.name == "tiny"


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_conv_without_bias_is_written_with_the_zero_bias_litert_needs(dtype):
    """LiteRT refuses a quantized CONV_2D with input -1 for the bias; the export writes int32 zeros instead."""
    from oracles import run_litert
    g = _tiny_graph(dtype)
    g.nodes[0].inputs = ("x", "w", None)
    del g.tensors["b"]
    g.nodes[0].options = OP_OPTIONS["CONV_2D"](padding="SAME", stride_h=2, stride_w=2, activation="RELU6")
    data = graph_to_tflite_bytes(g)
    g2 = load_tflite_bytes(data)
    bias = g2.tensor(g2.nodes[0].inputs[2])
    assert bias.dtype == "int32" and not bias.data.any() and not bias.quant.zero_point.any()
    np.testing.assert_allclose(bias.quant.scale, 0.05 * g.tensor("w").quant.scale, rtol=1e-6)
    x = np.random.default_rng(1).integers(-128 if dtype == "int8" else 0, 128 if dtype == "int8" else 256,
                                          (1, 4, 4, 3)).astype(dtype)
    assert np.array_equal(intq.Interpreter(g, kernels="reference").run(x)[0], run_litert(data, [x])[0])


def test_save_tflite_writes_atomically_and_replaces(tmp_path):
    g = _tiny_graph()
    path = tmp_path / "m.tflite"
    path.write_bytes(b"old contents")
    intq.save_tflite(g, path)
    assert path.read_bytes() == graph_to_tflite_bytes(g)
    assert os.listdir(tmp_path) == ["m.tflite"]          # no temporary file left behind
    assert_graphs_equal(intq.load_tflite(path), g)
    save_tflite(g, str(path))                            # str paths too
    assert_graphs_equal(load_tflite(str(path)), g)


def test_save_tflite_to_an_unwritable_path_is_a_write_error_naming_it(tmp_path):
    g = _tiny_graph()
    (tmp_path / "afile").write_bytes(b"x")
    for path in (tmp_path / "nope" / "m.tflite", tmp_path / "afile" / "m.tflite", tmp_path, ""):
        with pytest.raises(intq.errors.WriteError, match=f"cannot write {path if path != '' else repr(path)}: "):
            intq.save_tflite(g, path)
    with pytest.raises(OSError):                          # still an OSError for callers that catch those
        save_tflite(g, tmp_path)
    with pytest.raises(TypeError, match="intq.Graph"):
        save_tflite("model.tflite", tmp_path / "m.tflite")


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("op", sorted(OP_OPTIONS))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_op_roundtrips_through_tflite(op, dtype, data):
    """Random one-op graphs of every op: options, quantization, constants and absent inputs survive save/load."""
    graph, _ = data.draw(op_case(op, dtype))
    data_bytes = graph_to_tflite_bytes(graph)
    loaded = load_tflite_bytes(data_bytes)
    assert_graphs_equal(graph, loaded)
    assert graph_to_tflite_bytes(loaded) == data_bytes


@pytest.mark.parametrize("dtype,version", [("uint8", 1), ("int8", 3)])
def test_op_version_follows_the_tensor_types(dtype, version):
    """uint8 CONV_2D is written as version 1 (the paper's models), int8 per-channel as version 3."""
    import tflite
    model = tflite.Model.GetRootAs(graph_to_tflite_bytes(_tiny_graph(dtype)), 0)
    codes = {tflite_schema.BUILTIN_OPCODE2NAME[model.OperatorCodes(i).BuiltinCode()]: model.OperatorCodes(i).Version()
             for i in range(model.OperatorCodesLength())}
    assert codes == {"CONV_2D": version, "RESHAPE": 1}
    buffers = [model.Buffers(i).DataLength() for i in range(model.BuffersLength())]
    assert buffers[0] == 0 and len(buffers) == 4          # sentinel + w, b, shape
