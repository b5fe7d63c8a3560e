"""Reference TRANSPOSE by a constant permutation (any dtype). Imports: numpy, intq.ir, reference helpers.

TFLite ``reference_ops::Transpose`` (transpose.cc): ``out[i_perm[0], ..., i_perm[n-1]] = in[i_0, ..., i_{n-1}]``,
i.e. ``np.transpose(x, perm)``. Pure data movement: quantization must be the same on both sides.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import require
from intq.runtime.reference.shape_helpers import constant_ints, require_same_quant


def prepare(graph: Graph, node: Node) -> dict:
    """perm: a permutation of range(rank) (negative entries wrap, as TFLite's transpose.cc allows)."""
    require(len(node.inputs) == 2 and len(node.outputs) == 1, "TRANSPOSE takes (input, perm) and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    perm = constant_ints(graph, node, node.inputs[1], "perm").reshape(-1)
    rank = len(x.shape)
    require(perm.size == rank and sorted(int(p) % rank for p in perm) == list(range(rank))
            and all(-rank <= p < rank for p in perm),
            f"TRANSPOSE perm {perm.tolist()} is not a permutation of {rank} dims", graph, node, node.inputs[1])
    perm = tuple(int(p) % rank for p in perm)
    expect = [x.shape[p] for p in perm]
    same = list(out.shape[1:]) == expect[1:] and len(out.shape) == rank if perm[0] == 0 else list(out.shape) == expect
    require(same,
            f"TRANSPOSE output {list(out.shape)} should be {expect}", graph, node, out.name)
    require_same_quant(graph, node, x.name, out.name)
    return dict(perm=perm)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: T[d_0..d_{n-1}] -> T[d_perm[0]..d_perm[n-1]]."""
    return [np.ascontiguousarray(np.transpose(inputs[0], p["perm"]))]


KERNELS = {"TRANSPOSE": Kernel(prepare, run)}
