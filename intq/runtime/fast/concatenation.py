"""Fast CONCATENATION: byte copies and 256-entry tables in C (csrc/intq_plan.c). Imports: numpy, intq.runtime.

Reuses the reference prepare (axis, LiteRT's float32 requantization table per uint8 input whose qparams
differ from the output's, activation clamp). The clamp is folded into the tables: an input gets
``table[byte] = clamp(reference table or identity)`` when it has a table or the clamp is narrower than its
dtype, and is copied otherwise; that equals the reference's clip of the concatenated result. ``intq_concat``
then writes, for each slice before the axis, each input's contiguous run of bytes (any dtype: runs are
``n_i * inner * itemsize`` bytes).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import ISA_LEVEL, LIB, OP_CONCAT, ptr
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import concatenation as ref

_CODES = {"uint8": np.arange(256, dtype=np.uint8), "int8": np.arange(256, dtype=np.uint8).view(np.int8)}


def prepare(graph: Graph, node: Node) -> dict:
    """Reference prepare, then per input a uint8[256] byte table with the clamp folded in, or None (copy)."""
    p = ref.prepare(graph, node)
    dtype = graph.tensor(node.outputs[0]).dtype
    tables = []
    for table in p["tables"]:
        if dtype not in _CODES:
            tables.append(None)
            continue
        codes = _CODES[dtype]                                      # indexed by the raw byte
        mapped = codes.astype(np.int64) if table is None else table.astype(np.int64)
        clipped = mapped if p["lo"] is None else np.clip(mapped, p["lo"], p["hi"])
        same = table is None and np.array_equal(clipped, codes.astype(np.int64))
        tables.append(None if same else np.ascontiguousarray(clipped.astype(dtype).view(np.uint8)))
    out = graph.tensor(node.outputs[0])
    return dict(axis=p["axis"], byte_tables=tables, dtype=np.dtype(out.dtype))


def _meta(p: dict, xs: list) -> tuple[np.ndarray, int]:
    axis = p["axis"]
    outer = int(np.prod(xs[0].shape[:axis], dtype=np.int64))
    meta = np.zeros((len(xs), 3), np.int64)
    for i, (x, table) in enumerate(zip(xs, p["byte_tables"])):
        inner = int(np.prod(x.shape[axis:], dtype=np.int64)) * x.itemsize
        meta[i] = (ptr(x), inner, 0 if table is None else ptr(table))
    return meta, outer


def run_level(p: dict, inputs: list, level: int, num_threads: int = 1) -> np.ndarray:
    """The kernel with its byte tables gathered at ISA ``level`` (<= ISA_LEVEL; tests run every level), slices
    over up to ``num_threads`` threads."""
    xs = [np.ascontiguousarray(x) for x in inputs]
    axis = p["axis"]
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    out = np.empty(shape, xs[0].dtype)
    meta, outer = _meta(p, xs)
    LIB.intq_concat(ptr(meta), len(xs), outer, ptr(out), level, num_threads)
    return out


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x_i: T[..., n_i, ...] -> T[..., sum n_i, ...], byte-identical to the reference kernel."""
    return [run_level(p, inputs, ISA_LEVEL, ctx.num_threads)]


def plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this concatenation on fixed buffers."""
    meta, outer = _meta(p, ins)
    return [OP_CONCAT, ptr(meta), len(ins), outer, ptr(outs[0]), ISA_LEVEL, num_threads], [meta]


KERNELS = {"CONCATENATION": Kernel(prepare, run, plan)}
