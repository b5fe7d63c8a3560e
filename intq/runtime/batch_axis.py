"""Which nodes cannot run at a batch size other than the graph's. Imports: numpy, intq.ir.

The Interpreter runs any batch size; most ops treat dimension 0 as the batch, and MEAN, ARG_MAX, TRANSPOSE
and PAD across it compute what TFLite computes after resizing the input (tests compare with LiteRT). A SPLIT
or CONCATENATION along dimension 0, and an ADD / MUL / CONCATENATION with a constant operand spanning it,
have no such meaning at another batch (the pieces, or the constant, are sized for the graph's batch), so at
another batch the Interpreter refuses them with an InputError naming the node (RESHAPE and SQUEEZE check
themselves, at run time).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node


def _const(graph: Graph, node: Node, i: int) -> np.ndarray | None:
    name = node.inputs[i] if len(node.inputs) > i else None
    t = graph.tensors.get(name) if name else None
    return None if t is None or t.data is None else np.asarray(t.data).reshape(-1)


def _rank(graph: Graph, name: str) -> int:
    return len(graph.tensor(name).shape)


def batch_axis_use(graph: Graph, node: Node) -> str | None:
    """Why ``node`` works across dimension 0 (so cannot run at another batch), or None."""
    op = node.op
    if op in ("ADD", "MUL", "CONCATENATION"):         # a constant operand spanning the batch cannot follow it
        rank = _rank(graph, node.outputs[0])
        for name in node.inputs:
            t = graph.tensors.get(name) if name else None
            if t is not None and t.data is not None and len(t.shape) == rank and rank and t.shape[0] > 1:
                return f"takes the constant {name!r} of shape {list(t.shape)} along dimension 0"
    if op == "CONCATENATION":
        rank = _rank(graph, node.outputs[0])
        if rank and node.options.axis % rank == 0:
            return "concatenates along dimension 0"
    elif op == "SPLIT":
        values, rank = _const(graph, node, 0), _rank(graph, node.inputs[1])
        if values is not None and rank and any(int(a) % rank == 0 for a in values):
            return "splits dimension 0"
    return None


def batch_guards(graph: Graph) -> dict[str, str]:
    """{node name: reason} of the graph's nodes that cannot run at another batch size."""
    return {n.name: why for n in graph.nodes if (why := batch_axis_use(graph, n)) is not None}
