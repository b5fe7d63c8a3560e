"""Reference SPLIT into ``num_splits`` equal parts along a constant axis (any dtype). Imports: numpy, intq.ir.

TFLite ``reference_ops::Split`` (split.cc): inputs are (axis, input) -- the axis first -- and the axis
size must divide evenly. Pure data movement: every output keeps the input's quantization.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import require
from intq.runtime.reference.shape_helpers import constant_ints, normalize_axis, require_same_quant


def prepare(graph: Graph, node: Node) -> dict:
    """Resolved axis and number of parts; checks the outputs' shapes and quantization."""
    n = node.options.num_splits
    require(len(node.inputs) == 2 and node.inputs[1] is not None, "SPLIT takes (axis, input)", graph, node)
    require(isinstance(n, int) and n >= 1 and len(node.outputs) == n,
            f"SPLIT num_splits {n} must equal the number of outputs {len(node.outputs)}", graph, node)
    x = graph.tensor(node.inputs[1])
    axis_values = constant_ints(graph, node, node.inputs[0], "axis").reshape(-1)
    require(axis_values.size == 1, f"SPLIT axis must hold one value, got {axis_values.tolist()}",
            graph, node, node.inputs[0])
    axis = normalize_axis(graph, node, int(axis_values[0]), len(x.shape), node.inputs[0])
    require(x.shape[axis] % n == 0, f"SPLIT: axis {axis} of size {x.shape[axis]} is not divisible by {n}",
            graph, node, x.name)
    expect = list(x.shape)
    expect[axis] //= n
    for name in node.outputs:
        out = graph.tensor(name)
        ok = list(out.shape) == expect if axis == 0 else (len(out.shape) == len(expect)
                                                         and list(out.shape[1:]) == expect[1:])
        require(ok, f"SPLIT output {list(out.shape)} should be {expect}", graph, node, name)
        require_same_quant(graph, node, x.name, name)
    return dict(axis=axis, num_splits=n)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """(axis, x: T[..., k*n, ...]) -> n arrays T[..., k, ...]."""
    return [np.ascontiguousarray(part) for part in np.split(inputs[1], p["num_splits"], axis=p["axis"])]


KERNELS = {"SPLIT": Kernel(prepare, run)}
