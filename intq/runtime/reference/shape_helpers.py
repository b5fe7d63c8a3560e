"""Prepare-time checks shared by the data-movement kernels. Imports: numpy, intq.ir, reference.common.

* :func:`constant_ints` -- the values of a constant int32/int64 operand (axis, shape, paddings, perm).
* :func:`require_same_quant` -- a copy op (RESHAPE, PAD, TRANSPOSE, SPLIT...) must not change (scale, zp),
  since it moves bytes and would otherwise silently change real values. TFLite does not check this.
* :func:`normalize_axis` -- an axis in [-rank, rank) wrapped into [0, rank), else IRError.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.reference.common import require

QUANTIZED = ("uint8", "int8")


def constant_ints(graph: Graph, node: Node, name: str | None, what: str) -> np.ndarray:
    """int64 values of the constant int32/int64 tensor ``name`` (IRError naming it if absent or not constant)."""
    require(name is not None, f"{node.op} needs its {what} operand", graph, node)
    t = graph.tensor(name)
    require(t.is_constant and t.dtype in ("int32", "int64"),
            f"{node.op} {what} must be a constant int32/int64 tensor, got {t.dtype}"
            f"{'' if t.is_constant else ' (not constant)'}", graph, node, name)
    return t.data.astype(np.int64)


def require_same_quant(graph: Graph, node: Node, src: str, dst: str) -> None:
    """IRError unless ``src`` and ``dst`` have the same dtype and quantization parameters."""
    a, b = graph.tensor(src), graph.tensor(dst)
    require(a.dtype == b.dtype, f"{node.op} keeps the dtype: {a.dtype} -> {b.dtype}", graph, node, dst)
    if a.dtype in QUANTIZED:
        require(a.quant is not None and b.quant is not None and a.quant == b.quant,
                f"{node.op} moves data and needs equal input/output quantization, got "
                f"{_fmt(a.quant)} -> {_fmt(b.quant)}", graph, node, dst)


def normalize_axis(graph: Graph, node: Node, axis: int, rank: int, tensor: str | None = None) -> int:
    """``axis`` wrapped into [0, rank) (negative counts from the end); IRError when out of range."""
    require(-rank <= axis < rank, f"{node.op} axis {axis} out of range for rank {rank}", graph, node, tensor)
    return axis % rank


def _fmt(q) -> str:
    return "none" if q is None else f"(scale {q.scale.tolist()}, zp {q.zero_point.tolist()})"
