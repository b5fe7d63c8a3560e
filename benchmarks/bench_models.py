"""The benchmarks' models: the shared uint8 MobileNets' folder and a MobileNet v1 with random weights built with
the intq.ir Graph API (uint8 or TFLite's int8 scheme), and a random input for a graph. Imports: numpy, intq.
(Split from bench_runtime.py, which re-exports these names for the other scripts.)"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from intq.ir import Graph, Quantization
from intq.ir.ops import OP_OPTIONS

MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tflite-quant-models"
# MobileNet v1 body: (output channels, stride) of each depthwise-separable block
V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def _q(scale: float, zp: int = 0) -> Quantization:
    return Quantization.per_tensor(float(scale), int(zp))


def mobilenet_v1_graph(alpha: float = 1.0, size: int = 224, seed: int = 0, scheme: str = "uint8") -> Graph:
    """MobileNet v1 (conv+RELU6 folded) with random weights, 1001 classes, softmax output. scheme "uint8": the
    paper's (uint8 activations and weights, per-tensor); "int8": TFLite's int8 spec (int8 activations,
    symmetric per-channel int8 weights, zero point 0, what TensorFlow's converter writes today)."""
    r = np.random.default_rng(seed)
    g = Graph()
    act = 6.0 / 255
    off = 0 if scheme == "uint8" else -128             # activation codes: int8 = uint8 - 128
    g.add_tensor("input", (1, size, size, 3), scheme, _q(1 / 127.5, 128 + off))
    cur, c_in, hw, s_in = "input", 3, size, 1 / 127.5

    def weights(shape, axis: int):
        if scheme == "uint8":
            return r.integers(100, 157, shape).astype(np.uint8), _q(0.02, 128), np.float32(0.02)
        s_w = (0.02 * r.uniform(0.5, 1.5, shape[axis])).astype(np.float32)
        return (r.integers(-28, 29, shape).astype(np.int8), Quantization(s_w, np.zeros(shape[axis], np.int64), axis),
                s_w)

    def layer(op: str, c_out: int, k: int, stride: int, relu6: bool = True) -> None:
        nonlocal cur, c_in, hw, s_in
        i = len(g.nodes)
        if op == "CONV_2D":
            (w, wq, s_w), depth = weights((c_out, k, k, c_in), 0), k * k * c_in
            opts = OP_OPTIONS[op](padding="SAME", stride_h=stride, stride_w=stride,
                                  activation="RELU6" if relu6 else "NONE")
        else:
            (w, wq, s_w), depth = weights((1, k, k, c_in), 3), k * k
            opts = OP_OPTIONS[op](padding="SAME", stride_h=stride, stride_w=stride, activation="RELU6",
                                  depth_multiplier=1)
        g.add_constant(f"w{i}", w, wq)
        s_b = np.float32(s_in) * np.asarray(s_w, np.float32)
        g.add_constant(f"b{i}", r.integers(-2000, 2000, c_out).astype(np.int32),
                       _q(s_b) if s_b.size == 1 else Quantization(s_b, np.zeros(c_out, np.int64), 0))
        hw = -(-hw // stride)
        s_out = act if relu6 else s_in * 0.02 * 16 * np.sqrt(depth) / 8
        g.add_tensor(f"t{i}", (1, hw, hw, c_out), scheme, _q(s_out, (0 if relu6 else 128) + off))
        g.add_node(op, [cur, f"w{i}", f"b{i}"], [f"t{i}"], opts, name=f"{op.lower()}_{i}")
        cur, c_in, s_in = f"t{i}", c_out, s_out

    layer("CONV_2D", int(32 * alpha), 3, 2)
    for c_out, stride in V1_BLOCKS:
        layer("DEPTHWISE_CONV_2D", c_in, 3, stride)
        layer("CONV_2D", int(c_out * alpha), 1, 1)
    g.add_tensor("pool", (1, 1, 1, c_in), scheme, _q(s_in, off))
    g.add_node("AVERAGE_POOL_2D", [cur], ["pool"], OP_OPTIONS["AVERAGE_POOL_2D"](padding="VALID", filter_h=hw,
                                                                                filter_w=hw), name="pool")
    cur, hw = "pool", 1
    layer("CONV_2D", 1001, 1, 1, relu6=False)
    g.add_tensor("logits", (1, 1001), scheme, _q(s_in, 128 + off))
    g.add_node("RESHAPE", [cur], ["logits"], OP_OPTIONS["RESHAPE"](new_shape=(-1, 1001)), name="reshape")
    g.add_tensor("prob", (1, 1001), scheme, _q(1 / 256, off))
    g.add_node("SOFTMAX", ["logits"], ["prob"], OP_OPTIONS["SOFTMAX"](beta=1.0), name="softmax")
    g.inputs, g.outputs = ["input"], ["prob"]
    return g


def random_input(graph: Graph, batch: int = 1, seed: int = 0) -> np.ndarray:
    """Codes over the whole range of the graph's (first, integer) input dtype, at ``batch``."""
    t = graph.tensor(graph.inputs[0])
    info = np.iinfo(t.dtype)
    return np.random.default_rng(seed).integers(info.min, info.max + 1, (batch, *t.shape[1:])).astype(info.dtype)
