"""Reference RESHAPE and SQUEEZE (any dtype; bytes unchanged). Imports: numpy, intq.errors, intq.ir, reference helpers.

RESHAPE (TFLite reshape.cc): the new shape comes from the optional shape tensor (input 1) or else
``ReshapeOptions.new_shape``, else the output tensor's shape; one entry may be -1. SQUEEZE
(squeeze.cc) drops the listed size-1 dims, or every size-1 dim when ``squeeze_dims`` is empty.

Batch: the graph fixes a shape, but the interpreter may feed another batch. When the element count at
run time differs from the stored one, RESHAPE keeps every output dim but the first and sets the first to
the run's batch (``(n, *out[1:])``), which is only right when the stored target keeps dimension 0 as the batch
(``out[0] == in[0]``); SQUEEZE drops the same axes it drops at prepare time, which is only right when they
do not include the batch axis 0. Otherwise samples would be mixed (a [1, 10] -> [10] reshape run at batch 2
would give one row of 20), so such a node raises InputError naming it at any other batch.
"""
from __future__ import annotations

import numpy as np

from intq.errors import InputError
from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import node_where, require
from intq.runtime.reference.shape_helpers import constant_ints, normalize_axis, require_same_quant


def _resolve(graph: Graph, node: Node, shape: list[int], size: int, tensor: str | None) -> tuple[int, ...]:
    """Replace a single -1 so that the product is ``size`` (TFLite ``GetOutputShape``)."""
    unknown = [i for i, d in enumerate(shape) if d == -1]
    require(len(unknown) <= 1 and all(d >= 0 or d == -1 for d in shape),
            f"RESHAPE new shape {shape} may hold one -1 and no other negative", graph, node, tensor)
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if unknown:
        require(known > 0 and size % known == 0, f"RESHAPE cannot infer -1 in {shape} for {size} elements",
                graph, node, tensor)
        shape = list(shape)
        shape[unknown[0]] = size // known
    return tuple(int(d) for d in shape)


def prepare_reshape(graph: Graph, node: Node) -> dict:
    """The stored output shape, checked against the shape operand / options and the element count."""
    require(1 <= len(node.inputs) <= 2 and len(node.outputs) == 1, "RESHAPE takes (input[, shape]) and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    size = int(np.prod(x.shape, dtype=np.int64))
    shape_name = node.inputs[1] if len(node.inputs) == 2 else None
    if shape_name is not None:
        new = constant_ints(graph, node, shape_name, "shape").reshape(-1).tolist()
    elif node.options.new_shape is not None:
        new = list(node.options.new_shape)
    else:
        new = list(out.shape)
    target = _resolve(graph, node, new, size, shape_name)
    require(int(np.prod(target, dtype=np.int64)) == size,
            f"RESHAPE {list(x.shape)} ({size} elements) cannot become {list(target)}", graph, node, out.name)
    require(tuple(out.shape) == target, f"RESHAPE output tensor {list(out.shape)} should be {list(target)}",
            graph, node, out.name)
    require_same_quant(graph, node, x.name, out.name)
    keeps_batch = len(x.shape) >= 1 and len(target) >= 1 and x.shape[0] >= 1 and target[0] == x.shape[0]
    return dict(size=size, shape=target, in_shape=tuple(x.shape), keeps_batch=keeps_batch,
                sample_size=int(np.prod(target[1:], dtype=np.int64)), where=node_where(graph, node))


def _batch_error(p: dict, op: str, x: np.ndarray, why: str) -> InputError:
    """InputError naming the node: ``op`` cannot run on ``x`` (another batch than the graph's) because ``why``."""
    return InputError(f"node {p['where']!r}: {op} {why}, so it cannot run on {list(x.shape)} (the graph has "
                      f"{list(p['in_shape'])} there): run this graph at its own batch size")


def run_reshape(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: T[any] -> T[shape] (first dim the run's batch when it differs from the stored one)."""
    x = inputs[0]
    if x.size == p["size"]:
        return [x.reshape(p["shape"])]
    if not p["keeps_batch"]:
        raise _batch_error(p, "RESHAPE", x, f"to {list(p['shape'])} does not keep dimension 0 as the batch")
    if x.ndim < 1 or x.size != x.shape[0] * p["sample_size"]:
        raise _batch_error(p, "RESHAPE", x, f"to {list(p['shape'])} needs {p['sample_size']} elements a sample")
    return [x.reshape(x.shape[0], *p["shape"][1:])]


def prepare_squeeze(graph: Graph, node: Node) -> dict:
    """The axes to drop: ``squeeze_dims`` wrapped (each must have size 1), or all size-1 dims."""
    require(len(node.inputs) == 1 and len(node.outputs) == 1, "SQUEEZE takes one input and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    rank = len(x.shape)
    require(rank <= 8, f"SQUEEZE supports up to 8 dims, got {rank}", graph, node, x.name)
    dims = node.options.squeeze_dims
    if dims:
        axes = sorted({normalize_axis(graph, node, int(d), rank, x.name) for d in dims})
        for a in axes:
            require(x.shape[a] == 1, f"SQUEEZE dim {a} has size {x.shape[a]}, not 1", graph, node, x.name)
    else:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    expect = [d for i, d in enumerate(x.shape) if i not in axes]
    require(list(out.shape) == expect, f"SQUEEZE output {list(out.shape)} should be {expect}", graph, node, out.name)
    require_same_quant(graph, node, x.name, out.name)
    return dict(axes=tuple(axes), in_shape=tuple(x.shape), where=node_where(graph, node))


def run_squeeze(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: T[..., 1, ...] -> T[...] without the squeezed axes (never the batch axis at another batch)."""
    x = inputs[0]
    if x.shape != p["in_shape"]:
        if 0 in p["axes"]:
            raise _batch_error(p, "SQUEEZE", x, "drops dimension 0, the batch")
        if x.ndim != len(p["in_shape"]) or any(x.shape[a] != 1 for a in p["axes"]):
            raise _batch_error(p, "SQUEEZE", x, f"drops axes {list(p['axes'])} of size 1")
    return [np.squeeze(x, axis=p["axes"])]


KERNELS = {"RESHAPE": Kernel(prepare_reshape, run_reshape), "SQUEEZE": Kernel(prepare_squeeze, run_squeeze)}
