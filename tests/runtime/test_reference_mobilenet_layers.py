"""Reference conv-family kernels replay MobileNet v1 0.25/128 (uint8, QAT-trained) layer by layer, bit-exact.

Each CONV_2D / DEPTHWISE_CONV_2D / AVERAGE_POOL_2D of the shared model is rebuilt as a one-op intq graph
from the golden tensors LiteRT 2.3.0's reference kernels produced (weights, biases, scales, zero points),
fed LiteRT's input to that layer and compared with LiteRT's output with np.array_equal.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from intq.ir.graph import Graph
from intq.ir.tensor import Quantization
from reference_cases import run, tflite_layer_options

MODEL = "mobilenet_v1_0.25_128_quant"


@pytest.fixture(scope="module")
def golden(shared_data):
    pytest.importorskip("tflite")
    tensors = np.load(shared_data / "tflite-reference-outputs" / f"{MODEL}.ref_all_tensors_cat.npz")
    ops = json.loads((shared_data / "tflite-reference-outputs" / "meta.json").read_text())[f"ops_{MODEL.replace('_quant', '')}"]
    options = tflite_layer_options(shared_data / "tflite-quant-models" / f"{MODEL}.tflite")
    return tensors, ops, options


def _layer_graph(tensors, op, options, inputs, outputs) -> Graph:
    g = Graph()
    for k, idx in enumerate(inputs + outputs):
        key = f"t{idx:03d}"
        quant = Quantization.per_tensor(float(tensors["scale"][idx]), int(tensors["zero_point"][idx]))
        data = tensors[key] if k in (1, 2) and k < len(inputs) else None
        g.add_tensor(key, tensors[key].shape, str(tensors[key].dtype), quant, data)
    g.add_node(op, [f"t{i:03d}" for i in inputs], [f"t{i:03d}" for i in outputs], options)
    g.inputs, g.outputs = [f"t{inputs[0]:03d}"], [f"t{outputs[0]:03d}"]
    return g


@pytest.mark.slow
def test_every_conv_depthwise_and_pool_layer_is_bit_exact(golden):
    tensors, ops, options = golden
    checked = 0
    for (index, op, inputs, outputs), (op_name, opts) in zip(ops, options):
        assert op == op_name
        if opts is None:
            continue
        g = _layer_graph(tensors, op, opts, inputs, outputs)
        y = run(g, tensors[f"t{inputs[0]:03d}"])
        expected = tensors[f"t{outputs[0]:03d}"]
        assert np.array_equal(y, expected), f"op #{index} {op}: {np.count_nonzero(y != expected)} elements differ"
        checked += 1
    assert checked == 29                  # 15 CONV_2D, 13 DEPTHWISE_CONV_2D, 1 AVERAGE_POOL_2D
