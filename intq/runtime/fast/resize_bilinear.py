"""Fast RESIZE_BILINEAR: the reference's precomputed axes, the per-pixel sum in C (csrc/intq_resize.c).

Imports: numpy, intq.runtime. Prepare is the reference prepare (LiteRT's choice: float32 weights for uint8,
10-bit integer weights for int8; :data:`INTEGER_KERNELS` the integer-only option for uint8 too); run sums
the four neighbours in C in the reference's order and rounding (float32 without fused multiply-adds, or
int64 with ties away from zero), so the bytes equal the reference's.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import ISA_LEVEL, LIB, OP_RESIZE_BILINEAR, ptr
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import resize_bilinear as ref


def _with_axes(p: dict) -> dict:
    (y0, y1, wy), (x0, x1, wx) = p["y"], p["x"]
    integer = wy.dtype == np.int64
    arrs = [np.ascontiguousarray(a, np.int64) for a in (y0, y1, x0, x1)]
    arrs += [np.ascontiguousarray(a, np.int64 if integer else np.float32) for a in (wy, wx)]
    q = dict(p, arrays=arrs, integer=int(integer), in_int8=int(p["dtype"] == "int8"), oh=len(y0), ow=len(x0))
    q["axes"] = np.array([ptr(a) for a in arrs], np.int64)          # q keeps the arrays alive
    return q


def prepare(graph: Graph, node: Node) -> dict:
    """Reference prepare (LiteRT's float32 uint8 / integer int8 weights) and contiguous axis arrays."""
    return _with_axes(ref.prepare(graph, node))


def prepare_integer(graph: Graph, node: Node) -> dict:
    """Integer-only weights for both dtypes (reference ``prepare_integer``)."""
    return _with_axes(ref.prepare_integer(graph, node))


def run_level(p: dict, x: np.ndarray, level: int, num_threads: int = 1) -> np.ndarray:
    """The kernel at ISA ``level`` (<= ISA_LEVEL; tests run every level), output rows over up to
    ``num_threads`` threads."""
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    out = np.empty((n, p["oh"], p["ow"], c), p["dtype"])
    LIB.intq_resize_bilinear(ptr(x), ptr(out), n, h, w, c, p["oh"], p["ow"], *(int(a) for a in p["axes"]),
                             p["integer"], p["in_int8"], level, num_threads)
    return out


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """(x uint8|int8[N,H,W,C], size) -> [N,oh,ow,C], byte-identical to the reference kernel."""
    return [run_level(p, inputs[0], ISA_LEVEL, ctx.num_threads)]


def plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this resize on fixed buffers."""
    n, h, w, c = ins[0].shape
    return [OP_RESIZE_BILINEAR, ptr(ins[0]), ptr(outs[0]), n, h, w, c, p["oh"], p["ow"], ptr(p["axes"]),
            p["integer"], p["in_int8"], ISA_LEVEL, num_threads], []


KERNELS = {"RESIZE_BILINEAR": Kernel(prepare, run, plan)}

#: Integer-only RESIZE_BILINEAR for uint8 too (as the reference's INTEGER_KERNELS).
INTEGER_KERNELS = {"RESIZE_BILINEAR": Kernel(prepare_integer, run, plan)}
