"""tests for intq.io.tflite_import: missing, empty, garbage, truncated, corrupted files, unknown ops and options."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intq.errors import IntqError, ModelFileError, UnsupportedOpError
from intq.io import graph_to_tflite_bytes, load_tflite, load_tflite_bytes, tflite_export, tflite_schema
from intq.ir import OP_OPTIONS, Graph, Quantization


@pytest.fixture(scope="module")
def v1_bytes(shared_data) -> bytes:
    """MobileNet v1 0.25 as intq writes it: the flatbuffer alone. (The shared file has a zip of labels
    appended after the flatbuffer, so cutting that tail still leaves a complete, loadable model.)"""
    data = (shared_data / "tflite-quant-models" / "mobilenet_v1_0.25_128_quant.tflite").read_bytes()
    return graph_to_tflite_bytes(load_tflite_bytes(data))


def _relu_graph() -> Graph:
    g = Graph()
    g.add_tensor("x", (1, 2, 2, 1), "uint8", Quantization.per_tensor(0.1, 3))
    g.add_tensor("y", (1, 2, 2, 1), "uint8", Quantization.per_tensor(0.1, 3))
    g.add_node("RELU", ["x"], ["y"])
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_tflite(tmp_path / "absent.tflite")


def test_empty_path_says_so():
    with pytest.raises(ModelFileError, match="the path is empty"):
        load_tflite("")


def test_tensor_with_an_impossible_element_count_is_a_model_file_error():
    # one flipped byte made a shape [503316484, 1, 8, 8] (30 GiB): refused at load, naming the tensor
    g = _relu_graph()
    for name in ("x", "y"):
        g.tensors[name].shape = (503316484, 1, 8, 8)
    with pytest.raises(ModelFileError, match=r"tensor 'x' \(#0\) of shape \[503316484, 1, 8, 8\] has 32,212,254,976"):
        load_tflite_bytes(graph_to_tflite_bytes(g), "big.tflite")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelFileError):
        load_tflite(tmp_path)


@pytest.mark.parametrize("data", [b"", b"TFL3", b"\x00" * 7, b"hello world, not a model", b"\x10\x00\x00\x00TFL2xxxx"])
def test_empty_short_or_wrong_identifier(tmp_path, data):
    path = tmp_path / "bad.tflite"
    path.write_bytes(data)
    with pytest.raises(ModelFileError) as e:
        load_tflite(path)
    assert str(path) in str(e.value)


def test_identifier_with_garbage_body():
    rng = np.random.default_rng(1)
    for _ in range(20):
        body = rng.integers(0, 256, int(rng.integers(4, 300)), dtype=np.uint8).tobytes()
        data = body[:4] + b"TFL3" + body[4:]
        with pytest.raises(ModelFileError):
            load_tflite_bytes(data)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_truncated_model_is_a_model_file_error(v1_bytes, data):
    cut = data.draw(st.integers(0, len(v1_bytes) - 1))
    with pytest.raises(ModelFileError):
        load_tflite_bytes(v1_bytes[:cut])


def test_truncation_inside_the_tables_is_caught(v1_bytes):
    for cut in (8, 64, 1000, len(v1_bytes) // 2, len(v1_bytes) - 100, len(v1_bytes) - 1):
        with pytest.raises(ModelFileError):
            load_tflite_bytes(v1_bytes[:cut])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_corrupted_bytes_load_or_raise_intq_errors(v1_bytes, data):
    """Random byte changes either still parse or raise an IntqError; never another exception."""
    buf = bytearray(v1_bytes)
    region = data.draw(st.sampled_from(["head", "tail", "anywhere"]))
    n = len(buf)
    lo, hi = {"head": (0, 2048), "tail": (n - 8192, n), "anywhere": (0, n)}[region]
    for _ in range(data.draw(st.integers(1, 8))):
        buf[data.draw(st.integers(lo, hi - 1))] = data.draw(st.integers(0, 255))
    try:
        load_tflite_bytes(bytes(buf))
    except IntqError:
        pass


def test_unknown_op_names_op_and_operator_index():
    data = tflite_export._serialize(_relu_graph(), lambda node: "EXP")
    with pytest.raises(UnsupportedOpError) as e:
        load_tflite_bytes(data)
    assert e.value.op == "EXP" and "operator #0" in str(e.value)


def test_high_builtin_code_is_read_from_builtin_code_field():
    data = tflite_export._serialize(_relu_graph(), lambda node: "GELU")     # code 150 > 127
    with pytest.raises(UnsupportedOpError, match="GELU"):
        load_tflite_bytes(data)


def test_unsupported_tensor_type_is_a_model_file_error(monkeypatch):
    g = _relu_graph()
    g.add_tensor("f", (2,), "float32")
    monkeypatch.setattr(tflite_schema, "DTYPE_TO_TFLITE",
                        {**tflite_schema.DTYPE_TO_TFLITE, "float32": 1})     # FLOAT16
    data = tflite_export._serialize(g, lambda node: node.op)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="'f'.*FLOAT16"):
        load_tflite_bytes(data)


def test_export_refuses_invalid_graph():
    g = _relu_graph()
    g.outputs = ["nowhere"]
    with pytest.raises(IntqError):
        graph_to_tflite_bytes(g)


def test_unsupported_fused_activation_is_named(monkeypatch):
    g = _relu_graph()
    g.add_tensor("z", (1, 2, 2, 1), "uint8", Quantization.per_tensor(0.1, 3))
    g.add_node("ADD", ["y", "x"], ["z"], OP_OPTIONS["ADD"](activation="RELU"))
    g.outputs = ["z"]
    monkeypatch.setattr(tflite_schema, "ACTIVATION_TO_TFLITE", {**tflite_schema.ACTIVATION_TO_TFLITE, "RELU": 4})
    data = tflite_export._serialize(g, lambda node: node.op)                # fused TANH
    monkeypatch.undo()
    with pytest.raises(UnsupportedOpError, match="ADD.*operator #1.*FusedActivationFunction"):
        load_tflite_bytes(data)


def test_missing_required_options_is_a_model_file_error(monkeypatch):
    g = _relu_graph()
    g.nodes[0].op = "SOFTMAX"
    g.nodes[0].options = OP_OPTIONS["SOFTMAX"]()
    monkeypatch.setattr(tflite_schema, "OPTION_TABLES", {**tflite_schema.OPTION_TABLES, "SOFTMAX": (None, ())})
    data = tflite_export._serialize(g, lambda node: node.op)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="SOFTMAX.*SoftmaxOptions"):
        load_tflite_bytes(data)


def test_shared_models_load(shared_data):
    for name in ("mobilenet_v1_0.25_128_quant", "mobilenet_v2_1.0_224_quant"):
        g = load_tflite(shared_data / "tflite-quant-models" / f"{name}.tflite")
        assert g.tensor(g.inputs[0]).dtype == "uint8" and len(g.nodes) > 30
