"""Graph building, verification errors that name the node and tensor, and the text dump."""
from __future__ import annotations

import numpy as np
import pytest

from intq.errors import IntqError, IRError, UnsupportedOpError
from intq.ir import Graph, Quantization, format_graph, options_for, verify


def conv_graph(bias_scale: float = 0.05 * 0.02) -> Graph:
    g = Graph(name="g")
    g.add_tensor("x", (1, 4, 4, 3), "uint8", Quantization.per_tensor(0.05, 128))
    g.add_constant("w", np.full((2, 3, 3, 3), 130, np.uint8), Quantization.per_tensor(0.02, 128))
    g.add_constant("b", np.array([1, -1], np.int32), Quantization.per_tensor(bias_scale, 0))
    g.add_tensor("y", (1, 4, 4, 2), "uint8", Quantization.per_tensor(0.1, 3))
    g.add_node("CONV_2D", ["x", "w", "b"], ["y"], options_for("CONV_2D", activation="RELU6"), name="conv1")
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def test_valid_graph_verifies_and_prints():
    g = verify(conv_graph())
    text = format_graph(g)
    assert "CONV_2D" in text and "conv1" in text and "scale=0.05 zp=128" in text
    assert g.op_counts() == {"CONV_2D": 1}
    assert [n.name for n in g.consumers()["x"]] == ["conv1"] and g.producers()["y"].name == "conv1"


def test_bias_scale_must_be_input_times_weight_scale():
    # S_bias = S_in * S_w = 0.001 (paper §2.4); 0.01 is 9 output LSBs (0.1) * 0.02 tolerance away
    with pytest.raises(IRError, match="conv1.*'b'.*bias scale"):
        verify(conv_graph(bias_scale=0.01))


def test_missing_input_names_node_and_tensor():
    g = conv_graph()
    g.nodes[0].inputs = ("x", "nope", "b")
    with pytest.raises(IRError, match=r"conv1.*'nope'"):
        verify(g)


def test_use_before_definition_is_caught():
    g = conv_graph()
    g.add_tensor("z", (1, 4, 4, 2), "uint8", Quantization.per_tensor(0.1, 3))
    g.nodes.insert(0, g.nodes[0].__class__("RELU", ("y",), ("z",), options_for("RELU"), "relu_first"))
    with pytest.raises(IRError, match="relu_first.*before it is produced"):
        verify(g)


def test_tensor_produced_twice():
    g = conv_graph()
    g.add_node("RELU", ["x"], ["y"], name="relu_again")
    with pytest.raises(IRError, match="relu_again.*more than once"):
        verify(g)


@pytest.mark.parametrize("scale,zp,msg", [(0.0, 0, "scale"), (float("nan"), 0, "scale"), (0.1, 300, "zero point")])
def test_bad_quantization_parameters(scale, zp, msg):
    g = conv_graph()
    g.tensors["y"].quant = Quantization.per_tensor(scale, zp)
    with pytest.raises(IRError, match=f"'y'.*{msg}"):
        verify(g)


def test_unknown_op_and_bad_options():
    g = conv_graph()
    with pytest.raises(UnsupportedOpError, match="GELU"):
        g.add_node("GELU", ["y"], ["z"])
    g = conv_graph()
    g.nodes[0].options = options_for("CONV_2D", padding="FULL")
    with pytest.raises(IRError, match="padding 'FULL'"):
        verify(g)


def test_constant_data_must_match_declaration_and_errors_share_a_base():
    g = conv_graph()
    g.tensors["w"].data = g.tensors["w"].data[:1]
    with pytest.raises(IntqError, match="'w'.*does not match"):
        verify(g)


def test_per_channel_scales_must_match_axis():
    g = conv_graph()
    g.tensors["w"].quant = Quantization(np.array([0.1, 0.2, 0.3], np.float32), np.zeros(3), axis=0)
    with pytest.raises(IRError, match="per-channel"):
        verify(g)



def test_quantized_filter_without_quantization_names_node_and_tensor():
    # a corrupted file whose filter lost its quantization used to verify, then crash in the kernel
    g = conv_graph()
    g.tensors["w"].quant = None
    with pytest.raises(IRError, match=r"node 'conv1 \(#0\)', tensor 'w': uint8 constant has no quantization"):
        verify(g)


def test_quantized_constant_operand_without_quantization_names_node_and_tensor():
    g = conv_graph()
    g.add_constant("c", np.zeros((1, 4, 4, 2), np.uint8))
    g.add_tensor("z", (1, 4, 4, 2), "uint8", Quantization.per_tensor(0.1, 3))
    g.add_node("ADD", ["y", "c"], ["z"], options_for("ADD"), name="add1")
    g.outputs = ["z"]
    with pytest.raises(IRError, match=r"node 'add1 \(#1\)', tensor 'c': uint8 constant has no quantization"):
        verify(g)
