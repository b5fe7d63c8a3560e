"""Fast AVERAGE_POOL_2D, MAX_POOL_2D and MEAN, equal to runtime/reference. Imports: numpy, intq.

AVERAGE_POOL_2D (TFLite ``reference_ops::AveragePool`` / ``reference_integer_ops::AveragePool``, uint8 and
int8) in C: a window that covers the whole image (the global pool that ends MobileNets) is summed by
``intq_global_avg_pool`` (csrc/intq_plan.c, count = H*W); any other window by ``intq_avg_pool``
(csrc/intq_pool.c), which sums the taps inside the image and divides by their count, the reference's
``round_half_away(acc / count)`` in integers, then clamps. Both have a plan record.

MEAN (``reference_ops::QuantizedMeanOrSum``): when the batch axis is not reduced the divisor N is fixed at
prepare, and the output is a function of the int32 sum alone, which lies in [N*q_min, N*q_max]. Prepare
evaluates the reference formula (``mean_multiplier``, ``multiply_by_quantized_multiplier``, + z_out, clamp)
on every possible sum (at most ``_MAX_TABLE`` of them); run is one int32 sum and one table gather. Other
cases (batch axis reduced, huge N) use the reference run. With a table, the sum and the gather are one C
call (csrc/intq_pool.c ``intq_mean_table``, up to 6 dims), which also gives MEAN a plan; a plan fixes the
batch size, so one that reduces the batch axis builds its table for the planned batch. Without a table
plan is None.

MAX_POOL_2D (NHWC, any window, strides, SAME/VALID padding): ``intq_max_pool`` in C, the max of the taps inside
the image (on bytes, int8 codes compared as ``code ^ 0x80``), then the fused activation clamp, with the
reference prepare's geometry and [lo, hi].
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import (ISA_LEVEL, LIB, OP_AVG_POOL, OP_GLOBAL_AVG, OP_MAX_POOL, OP_MEAN_TABLE,
                                   POOL_THREADS, ptr)
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import mean as ref_mean
from intq.runtime.reference import pooling as ref_pool
from intq.runtime.reference.common import clamp_cast, dtype_range
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier, wrap32

_MAX_TABLE = 1 << 22
_MAXDIM = 6                                                       # INTQ_MAXDIM of csrc/intq_pool.c


def _prepare_average(graph: Graph, node: Node) -> dict:
    """Reference prepare, plus whether the window is the whole (unpadded) image."""
    p = dict(ref_pool.KERNELS["AVERAGE_POOL_2D"].prepare(graph, node))
    g = p["geometry"]
    _, h, w, _ = graph.tensor(node.inputs[0]).shape
    p["global"] = g["out_hw"] == (1, 1) and g["kernel"] == (h, w) and g["pad"] == (0, 0)
    return p


def run_average_level(p: dict, x: np.ndarray, level: int, num_threads: int = 1) -> np.ndarray:
    """The AVERAGE_POOL_2D kernel at one ISA level (tests run every level up to ISA_LEVEL)."""
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    if p["global"]:
        out = np.empty((n, 1, 1, c), p["dtype"])
        LIB.intq_global_avg_pool(ptr(x), ptr(out), n, h * w, c, int(p["dtype"] == "int8"), p["lo"], p["hi"],
                                 num_threads)
        return out
    out = np.empty((n, *p["geometry"]["out_hw"], c), p["dtype"])
    geom = _pool_geom(p, x, level, num_threads)
    LIB.intq_avg_pool(ptr(x), ptr(out), ptr(geom))
    return out


def _run_average(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x uint8|int8[N,H,W,C] -> clipped-window mean rounded half away from zero (reference formula), clamped."""
    return [run_average_level(p, inputs[0], ISA_LEVEL, ctx.num_threads)]


def _mean_table(p: dict, shape) -> tuple[np.ndarray, int] | None:
    """(table, offset): table[sum - offset] = the output code of an int32 sum of N = the reduced elements of
    ``shape``, offset = N*q_min; None when the table would be too large."""
    n = int(np.prod([shape[a] for a in p["axes"]], dtype=np.int64))
    lo, hi = dtype_range(p["dtype"])
    if n == 0 or n * (hi - lo) + 1 > _MAX_TABLE:
        return None
    total = np.arange(n * lo, n * hi + 1, dtype=np.int64)        # every possible int32 sum
    m0, shift = ref_mean.mean_multiplier(p["m0"], p["shift"], n)
    out = multiply_by_quantized_multiplier(wrap32(total - p["z_in"] * n), m0, shift).astype(np.int64) + p["z_out"]
    return clamp_cast(out, lo, hi, p["dtype"]), n * lo


def _prepare_mean(graph: Graph, node: Node) -> dict:
    """Reference prepare, plus the table of _mean_table when N is fixed (the batch axis is not reduced)."""
    p = dict(ref_mean.prepare(graph, node))
    p["table"], p["offset"] = None, 0
    if 0 not in p["axes"]:                                        # else N depends on the run-time batch
        p["table"], p["offset"] = _mean_table(p, graph.tensor(node.inputs[0]).shape) or (None, 0)
    return p


def run_mean_level(p: dict, x: np.ndarray, level: int, num_threads: int) -> np.ndarray | None:
    """The tabled MEAN at ISA ``level`` (<= ISA_LEVEL) on up to ``num_threads`` threads; None when it has no
    table (tests run every level)."""
    x = np.ascontiguousarray(x)
    if p["table"] is None or x.ndim > _MAXDIM:
        return None
    shape = [1 if i in p["axes"] else d for i, d in enumerate(x.shape)] if p["keep"] else \
        [d for i, d in enumerate(x.shape) if i not in p["axes"]]
    out = np.empty(shape, p["dtype"])
    nt = min(num_threads, POOL_THREADS)                 # a copy of the sums a thread, as many as the C pool runs
    meta, acc = _mean_meta(p, x, p["offset"]), np.empty(max(out.size, 1) * nt, np.int32)
    LIB.intq_mean_table(ptr(x), ptr(out), ptr(meta), ptr(p["table"]), ptr(acc), nt, min(int(level), ISA_LEVEL))
    return out


def _run_mean(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x uint8|int8 -> mean over ``axes``: int32 sum, then one table gather (reference run if no table)."""
    out = run_mean_level(p, inputs[0], ISA_LEVEL, ctx.num_threads)
    return ref_mean.run(p, inputs, ctx) if out is None else [out]


def _mean_meta(p: dict, x: np.ndarray, offset: int) -> np.ndarray:
    """int64 [in_int8, table offset, in_shape[6], reduced[6]] of csrc/intq_pool.c intq_mean_table."""
    lead = _MAXDIM - x.ndim
    return np.array([int(p["dtype"] == "int8"), offset] + [1] * lead + list(x.shape)
                    + [0] * lead + [int(i in p["axes"]) for i in range(x.ndim)], np.int64)


def _plan_mean(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of a tabled MEAN; a reduced batch axis gets the table of the planned batch size
    (None when the table would be too large)."""
    x, out = ins[0], outs[0]
    if x.ndim > _MAXDIM or out.dtype != np.dtype(p["dtype"]) \
            or out.size != int(np.prod([d for i, d in enumerate(x.shape) if i not in p["axes"]], dtype=np.int64)):
        return None
    table, offset = (p["table"], p["offset"]) if p["table"] is not None else _mean_table(p, x.shape) or (None, 0)
    if table is None:
        return None
    nt = min(num_threads, POOL_THREADS)                 # a copy of the sums a thread, as many as the C pool runs
    meta, acc = _mean_meta(p, x, offset), np.empty(max(out.size, 1) * nt, np.int32)
    return [OP_MEAN_TABLE, ptr(x), ptr(out), ptr(meta), ptr(table), ptr(acc), nt, ISA_LEVEL], \
        [meta, acc, table]


def _pool_geom(p: dict, x: np.ndarray, level: int = ISA_LEVEL, num_threads: int = 1) -> np.ndarray:
    """int64 [n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, in_int8, lo, hi, level, threads] of csrc/intq_pool.c
    intq_max_pool and intq_avg_pool (level: the ISA level they run, at most ISA_LEVEL)."""
    g = p["geometry"]
    return np.array([*x.shape, *g["out_hw"], *g["kernel"], *g["stride"], *g["pad"], int(p["dtype"] == "int8"),
                     p["lo"], p["hi"], level, num_threads], np.int64)


def run_max_level(p: dict, x: np.ndarray, level: int, num_threads: int = 1) -> np.ndarray:
    """The MAX_POOL_2D kernel at one ISA level (tests run every level up to ISA_LEVEL)."""
    x = np.ascontiguousarray(x)
    out = np.empty((x.shape[0], *p["geometry"]["out_hw"], x.shape[3]), p["dtype"])
    geom = _pool_geom(p, x, level, num_threads)
    LIB.intq_max_pool(ptr(x), ptr(out), ptr(geom))
    return out


def _run_max(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x uint8|int8[N,H,W,C] -> clamped max over each window's taps inside the image."""
    return [run_max_level(p, inputs[0], ISA_LEVEL, ctx.num_threads)]


def _plan_max(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this max pool on fixed buffers."""
    x, out = ins[0], outs[0]
    if x.ndim != 4 or out.shape != (x.shape[0], *p["geometry"]["out_hw"], x.shape[3]):
        return None
    geom = _pool_geom(p, x, ISA_LEVEL, num_threads)
    return [OP_MAX_POOL, ptr(x), ptr(out), ptr(geom)], [geom]


def _plan_average(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of a global pool (csrc/intq_plan.c, the reference formula with count = H*W) or
    of a windowed one (csrc/intq_pool.c)."""
    x, out = ins[0], outs[0]
    if x.ndim != 4:
        return None
    n, h, w, c = x.shape
    if p["global"]:
        return [OP_GLOBAL_AVG, ptr(x), ptr(out), n, h * w, c, int(p["dtype"] == "int8"), p["lo"], p["hi"],
                num_threads], []
    if out.shape != (n, *p["geometry"]["out_hw"], c):
        return None
    geom = _pool_geom(p, x, ISA_LEVEL, num_threads)
    return [OP_AVG_POOL, ptr(x), ptr(out), ptr(geom)], [geom]


KERNELS = {"AVERAGE_POOL_2D": Kernel(_prepare_average, _run_average, _plan_average),
           "MAX_POOL_2D": Kernel(ref_pool.KERNELS["MAX_POOL_2D"].prepare, _run_max, _plan_max),
           "MEAN": Kernel(_prepare_mean, _run_mean, _plan_mean)}
