"""The shared real uint8 models (MobileNet v1 0.25/128, v2 1.0/224) through intq, byte for byte against LiteRT.

Golden outputs are LiteRT's reference kernels (../shared/data/tflite-reference-outputs); the models are
loaded with intq.load_tflite. v1 is also checked layer by layer against every tensor LiteRT kept on
``cat``: whole-graph intermediates, and each node alone on LiteRT's own inputs (isolates a faulty layer).
"""
from __future__ import annotations

import numpy as np
import pytest

import intq
from intq.ir import Graph
from intq.runtime import Interpreter

MODELS = ("mobilenet_v1_0.25_128_quant", "mobilenet_v2_1.0_224_quant")
IMAGES = ("cat", "grace_hopper", "bird", "sunflower")
KERNEL_SETS = ("reference", "fast")
V1 = MODELS[0]


@pytest.fixture(scope="module")
def graphs(shared_data) -> dict[str, Graph]:
    return {m: intq.load_tflite(shared_data / "tflite-quant-models" / f"{m}.tflite") for m in MODELS}


@pytest.fixture(scope="module")
def golden(shared_data) -> dict:
    return {m: dict(np.load(shared_data / "tflite-reference-outputs" / f"{m}.npz")) for m in MODELS}


@pytest.fixture(scope="module")
def v1_tensors(shared_data, graphs) -> dict[str, np.ndarray]:
    """LiteRT's every tensor of v1 on ``cat``, keyed by tensor name."""
    z = np.load(shared_data / "tflite-reference-outputs" / f"{V1}.ref_all_tensors_cat.npz")
    return {str(name): z[f"t{int(i):03d}"] for i, name in zip(z["tensor_index"], z["tensor_name"])}


@pytest.mark.slow
@pytest.mark.parametrize("kernels", KERNEL_SETS)
@pytest.mark.parametrize("model", MODELS)
def test_model_output_equals_litert_reference_on_every_image(graphs, golden, model, kernels):
    it = Interpreter(graphs[model], kernels=kernels)
    for img in IMAGES:
        x, ref = golden[model][f"input_{img}"], golden[model][f"ref_{img}"]
        (y,) = it.run(x)
        assert y.dtype == ref.dtype and y.shape == ref.shape
        assert np.array_equal(y, ref), f"{model} {img}: {int((y != ref).sum())} of {ref.size} differ, " \
                                       f"max |diff| {np.abs(y.astype(int) - ref).max()}"


@pytest.mark.parametrize("kernels", KERNEL_SETS)
def test_v1_batch_of_four_images_equals_the_four_single_runs(graphs, golden, kernels):
    x = np.concatenate([golden[V1][f"input_{img}"] for img in IMAGES])
    (y,) = Interpreter(graphs[V1], kernels=kernels).run(x)
    assert np.array_equal(y, np.concatenate([golden[V1][f"ref_{img}"] for img in IMAGES]))


def test_v1_golden_file_names_every_graph_tensor(graphs, v1_tensors):
    assert set(graphs[V1].tensors) == set(v1_tensors)


def test_v1_constants_load_byte_for_byte(graphs, v1_tensors):
    g = graphs[V1]
    for name, t in g.tensors.items():
        if t.is_constant:
            assert t.data.dtype == v1_tensors[name].dtype and np.array_equal(t.data, v1_tensors[name]), name


@pytest.mark.parametrize("kernels", KERNEL_SETS)
def test_v1_every_intermediate_tensor_equals_litert(graphs, golden, v1_tensors, kernels):
    g = graphs[V1]
    env = Interpreter(g, kernels=kernels).run(golden[V1]["input_cat"], intermediates=True)
    for i, node in enumerate(g.nodes):
        for name in node.outputs:
            e, y = v1_tensors[name], env[name]
            assert y.dtype == e.dtype and y.shape == e.shape, name
            assert np.array_equal(y, e), f"node #{i} {node.op} -> {name}: {int((y != e).sum())} differ"


def _single_node_graph(g: Graph, node) -> Graph:
    """``node`` alone: its non-constant inputs become graph inputs, constants are kept."""
    sub = Graph(name=f"{g.name}:{node.name}")
    for name in node.inputs + node.outputs:
        if name is not None and name not in sub.tensors:
            t = g.tensors[name]
            sub.add_tensor(name, t.shape, t.dtype, t.quant, t.data)
    sub.nodes.append(node)
    sub.inputs = [n for n in node.inputs if n is not None and not g.tensors[n].is_constant]
    sub.outputs = list(node.outputs)
    return sub


@pytest.mark.parametrize("kernels", KERNEL_SETS)
def test_v1_each_layer_alone_on_litert_inputs(graphs, v1_tensors, kernels):
    g = graphs[V1]
    bad = []
    for i, node in enumerate(g.nodes):
        sub = _single_node_graph(g, node)
        outs = Interpreter(sub, kernels=kernels).run(*[v1_tensors[n] for n in sub.inputs])
        for name, y in zip(sub.outputs, outs):
            if not np.array_equal(y, v1_tensors[name]):
                bad.append(f"#{i} {node.op} {name}: {int((y != v1_tensors[name]).sum())} differ")
    assert not bad, "\n".join(bad)
