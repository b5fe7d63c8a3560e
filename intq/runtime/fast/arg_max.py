"""Fast ARG_MAX of uint8, int8, int32 and float32 inputs in C (csrc/intq_pool.c ``intq_arg_max``), equal to
runtime/reference. Imports: numpy, intq.

The input seen as [outer][len][inner] with the reduced axis in the middle; the first index of the maximum
(TFLite's ArgMinMax with ``std::greater``, NumPy's ``argmax``: a float NaN is the maximum, the first one
wins), int32 or int64. Other input dtypes use the reference run and have no plan.
"""
from __future__ import annotations

import numpy as np

from intq.runtime.fast._lib import LIB, OP_ARG_MAX, ptr
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import arg_max as ref

_KINDS = {np.dtype(np.uint8): 0, np.dtype(np.int8): 1, np.dtype(np.int32): 2, np.dtype(np.float32): 3}


def _axes(p: dict, shape: tuple) -> tuple[int, int, int, list[int]]:
    """(outer, len, inner, output shape) of the reduction over ``p["axis"]``."""
    a = p["axis"]
    outer, inner = int(np.prod(shape[:a], dtype=np.int64)), int(np.prod(shape[a + 1:], dtype=np.int64))
    return outer, int(shape[a]), inner, [d for i, d in enumerate(shape) if i != a]


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: uint8|int8|int32|float32[..., n, ...] -> int32|int64 index of the first maximum along the axis."""
    x = inputs[0]
    if x.dtype not in _KINDS:
        return ref.run(p, inputs, ctx)
    x = np.ascontiguousarray(x)
    outer, n, inner, shape = _axes(p, x.shape)
    out = np.empty(shape, p["dtype"])
    LIB.intq_arg_max(ptr(x), ptr(out), outer, n, inner, _KINDS[x.dtype], out.dtype.itemsize, ctx.num_threads)
    return [out]


def plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this ARG_MAX on fixed buffers (None for other input dtypes)."""
    x, out = ins[0], outs[0]
    if x.dtype not in _KINDS:
        return None
    outer, n, inner, shape = _axes(p, x.shape)
    if out.dtype != np.dtype(p["dtype"]) or list(out.shape) != shape:
        return None
    return [OP_ARG_MAX, ptr(x), ptr(out), outer, n, inner, _KINDS[x.dtype], out.dtype.itemsize, num_threads], []


KERNELS = {"ARG_MAX": Kernel(ref.prepare, run, plan)}
