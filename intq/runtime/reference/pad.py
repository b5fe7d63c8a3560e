"""Reference PAD with the output zero point (uint8, int8; int32/float32 pad with 0). Imports: numpy, intq.ir.

TFLite pad.cc / ``reference_ops::Pad``: paddings is a constant int32 or int64 tensor [rank, 2] of
(before, after) counts, each >= 0; quantized tensors are padded with the **output zero point**, i.e.
real 0.0 (pad.cc: ``pad_value = output->params.zero_point``). Input and output share quantization.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import require
from intq.runtime.reference.shape_helpers import QUANTIZED, constant_ints, require_same_quant


def prepare(graph: Graph, node: Node) -> dict:
    """Paddings as a tuple of (before, after) pairs and the pad value (output zero point)."""
    require(len(node.inputs) == 2 and len(node.outputs) == 1, "PAD takes (input, paddings) and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    pads = constant_ints(graph, node, node.inputs[1], "paddings")
    rank = len(x.shape)
    require(pads.shape == (rank, 2), f"PAD paddings must be [{rank}, 2], got {list(pads.shape)}",
            graph, node, node.inputs[1])
    require(bool(np.all(pads >= 0)), f"PAD paddings must be >= 0, got {pads.tolist()}", graph, node, node.inputs[1])
    expect = [d + int(a) + int(b) for d, (a, b) in zip(x.shape, pads)]
    require(len(out.shape) == rank and list(out.shape[1:]) == expect[1:],
            f"PAD output {list(out.shape)} should be {expect}", graph, node, out.name)
    require_same_quant(graph, node, x.name, out.name)
    value = graph.tensor(out.name).zero_point if out.dtype in QUANTIZED else 0
    return dict(pads=tuple((int(a), int(b)) for a, b in pads), value=value)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: T[d_i] -> T[d_i + before_i + after_i], new cells = output zero point."""
    x = inputs[0]
    return [np.pad(x, p["pads"], mode="constant", constant_values=np.array(p["value"], dtype=x.dtype))]


KERNELS = {"PAD": Kernel(prepare, run)}
