"""Reference ARG_MAX over a constant axis (any input dtype), output int32 or int64. Imports: numpy, intq.ir.

TFLite ``reference_ops::ArgMinMax`` with ``std::greater``: scanning the axis from index 0, an element
replaces the current maximum only if strictly greater, so ties give the **first** index (as ``np.argmax``).
The axis operand is a one-element int32/int64 tensor; negative axes count from the end. The axis
dimension is removed (no keep_dims in TFLite's ARG_MAX).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import require
from intq.runtime.reference.shape_helpers import constant_ints, normalize_axis


def prepare(graph: Graph, node: Node) -> dict:
    """Resolved axis and output dtype (options.output_type, which must match the output tensor)."""
    require(len(node.inputs) == 2 and len(node.outputs) == 1, "ARG_MAX takes (input, axis) and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    axis_values = constant_ints(graph, node, node.inputs[1], "axis").reshape(-1)
    require(axis_values.size == 1, f"ARG_MAX axis must hold one value, got {axis_values.tolist()}",
            graph, node, node.inputs[1])
    rank = len(x.shape)
    axis = normalize_axis(graph, node, int(axis_values[0]), rank, node.inputs[1])
    require(x.shape[axis] > 0, "ARG_MAX over an empty axis", graph, node, x.name)
    out_type = node.options.output_type
    require(out_type in ("int32", "int64") and out.dtype == out_type,
            f"ARG_MAX output must be int32 or int64 matching output_type {out_type!r}, got {out.dtype}",
            graph, node, out.name)
    expect = [d for i, d in enumerate(x.shape) if i != axis]
    require(len(out.shape) == len(expect) and (list(out.shape[1:]) == expect[1:] if axis != 0 else
                                               list(out.shape) == expect),
            f"ARG_MAX output {list(out.shape)} should be {expect}", graph, node, out.name)
    return dict(axis=axis, dtype=out_type)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: T[..., n, ...] -> int32|int64 index of the first maximum along ``axis``."""
    return [np.argmax(inputs[0], axis=p["axis"]).astype(p["dtype"])]


KERNELS = {"ARG_MAX": Kernel(prepare, run)}
