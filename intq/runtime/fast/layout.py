"""Fast TRANSPOSE, PAD, QUANTIZE and DEQUANTIZE in C (csrc/intq_layout.c), equal to runtime/reference. Imports: numpy, intq.

* TRANSPOSE: a strided copy over up to 6 dims (elements of 1 or 4 bytes), the output written in order.
* PAD: the output filled with the reference's pad value (output zero point, 0 for int32/float32), then the
  input's rows copied in place (up to 6 dims, elements of 1 or 4 bytes).
* QUANTIZE float32 -> uint8/int8: ``intq_quantize_f32``, the reference formula in C (float32 division, ties
  away from zero, the reference's saturation). NaN gives what the reference gives on x86-64, where NumPy casts
  NaN to INT64_MIN and + zp wraps: the lowest code when zp >= 0, the highest when zp < 0 (the reference's NaN
  result is platform-defined; the Interpreter refuses non-finite inputs anyway).
* QUANTIZE uint8/int8 -> uint8/int8 and DEQUANTIZE: the output is a function of the input byte, so prepare
  evaluates the reference kernel on all 256 codes and run is a table gather (``intq_lut1``, 1- or 4-byte entries).
* SPLIT into n equal parts along an axis (any dtype): the input seen as [outer][n][part] bytes, each part
  copied to its output (``intq_split``).

Other ranks or element sizes use the reference run and have no plan.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import ISA_LEVEL, LIB, OP_LUT1, OP_PAD, OP_QUANTIZE_F32, OP_SPLIT, OP_TRANSPOSE, ptr
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import pad as ref_pad
from intq.runtime.reference import quantize as ref_quant
from intq.runtime.reference import split as ref_split
from intq.runtime.reference import transpose as ref_transpose
from intq.runtime.reference.common import dtype_range

MAXDIM = 6                                                          # INTQ_MAXDIM of csrc/intq_layout.c
_CODES = np.arange(256, dtype=np.uint8)


def _fits(x: np.ndarray) -> bool:
    """Whether the C layout kernels take ``x``: rank <= 6, elements of 1 or 4 bytes."""
    return x.ndim <= MAXDIM and x.dtype.itemsize in (1, 4)


def _lead(values, fill: int) -> list[int]:
    """``values`` with ``fill`` prepended up to MAXDIM entries."""
    return [fill] * (MAXDIM - len(values)) + [int(v) for v in values]


def _transpose_meta(perm: tuple, x: np.ndarray) -> np.ndarray:
    """int64 [esize, out_shape[6], input element strides of the out dims[6]] for a C-contiguous ``x``."""
    strides = [s // x.dtype.itemsize for s in x.strides] if x.ndim else []
    return np.array([x.dtype.itemsize] + _lead([x.shape[p] for p in perm], 1) + _lead([strides[p] for p in perm], 0),
                    np.int64)


def _run_transpose(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: T[d_0..d_{n-1}] -> T[d_perm[0]..d_perm[n-1]] (reference run beyond 6 dims or other element sizes)."""
    x = np.ascontiguousarray(inputs[0])
    if not _fits(x):
        return ref_transpose.run(p, inputs, ctx)
    out = np.empty([x.shape[i] for i in p["perm"]], x.dtype)
    meta = _transpose_meta(p["perm"], x)
    LIB.intq_transpose(ptr(x), ptr(out), ptr(meta), ctx.num_threads)
    return [out]


def _plan_transpose(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this transpose on fixed buffers (None beyond 6 dims or other element sizes)."""
    x, out = ins[0], outs[0]
    if not _fits(x) or out.dtype != x.dtype or list(out.shape) != [x.shape[i] for i in p["perm"]]:
        return None
    meta = _transpose_meta(p["perm"], x)
    return [OP_TRANSPOSE, ptr(x), ptr(out), ptr(meta), num_threads], [meta]


def _pad_meta(p: dict, x: np.ndarray) -> np.ndarray:
    """int64 [esize, value bits, in_shape[6], out_shape[6], before[6]]."""
    bits = np.array(p["value"], x.dtype).view(np.uint8 if x.dtype.itemsize == 1 else np.uint32)
    out_shape = [d + a + b for d, (a, b) in zip(x.shape, p["pads"])]
    return np.array([x.dtype.itemsize, int(bits)] + _lead(x.shape, 1) + _lead(out_shape, 1)
                    + _lead([a for a, _ in p["pads"]], 0), np.int64)


def _run_pad(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: T[d_i] -> T[d_i + before_i + after_i], new cells = the reference's pad value."""
    x = np.ascontiguousarray(inputs[0])
    if not _fits(x) or x.ndim == 0:
        return ref_pad.run(p, inputs, ctx)
    out = np.empty([d + a + b for d, (a, b) in zip(x.shape, p["pads"])], x.dtype)
    meta = _pad_meta(p, x)
    LIB.intq_pad(ptr(x), ptr(out), ptr(meta), ctx.num_threads)
    return [out]


def _plan_pad(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this pad on fixed buffers (None beyond 6 dims or other element sizes)."""
    x, out = ins[0], outs[0]
    if not _fits(x) or x.ndim == 0 or out.dtype != x.dtype \
            or list(out.shape) != [d + a + b for d, (a, b) in zip(x.shape, p["pads"])]:
        return None
    meta = _pad_meta(p, x)
    return [OP_PAD, ptr(x), ptr(out), ptr(meta), num_threads], [meta]


def byte_table(run, p: dict, in_dtype: str) -> np.ndarray:
    """The reference ``run`` on every input code, indexed by the code's byte (contiguous); shared with the
    activation tables (intq.runtime.fast.activations)."""
    with np.errstate(over="ignore"):                      # a huge scale: the reference's inf, without a warning
        return np.ascontiguousarray(run(p, [_CODES.view(in_dtype)], ExecContext())[0])


def gather_run(x: np.ndarray, table: np.ndarray, level: int = ISA_LEVEL, num_threads: int = 1) -> np.ndarray:
    """table[byte of each element of ``x``] (1-byte codes; 1- or 4-byte table entries), ``x``'s shape; ``level``
    the ISA level of the 1-byte gather (tests run every level), split over up to ``num_threads`` threads."""
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape, table.dtype)
    LIB.intq_lut1(ptr(x), ptr(out), x.size, ptr(table), table.dtype.itemsize, level, num_threads)
    return out


def gather_plan(x: np.ndarray, out: np.ndarray, table: np.ndarray, num_threads: int = 1):
    """intq_run_plan record of gather_run on fixed buffers (None unless 1-byte codes into ``table``'s dtype)."""
    if x.size != out.size or x.dtype.itemsize != 1 or out.dtype != table.dtype:
        return None
    return [OP_LUT1, ptr(x), ptr(out), x.size, ptr(table), table.dtype.itemsize, ISA_LEVEL, num_threads], [table]


def _prepare_quantize(graph: Graph, node: Node) -> dict:
    """Reference prepare; float mode: the scale's bits and clamp range; requantize: the 256-entry output table."""
    p = dict(ref_quant.prepare_quantize(graph, node))
    p["lo"], p["hi"] = dtype_range(p["dtype"])
    if p["mode"] == "float":
        p["scale_bits"] = int(np.float32(p["scale"]).view(np.uint32))
    else:
        p["table"] = byte_table(ref_quant.run_quantize, p, graph.tensor(node.inputs[0]).dtype)
    return p


def quantize_float_level(p: dict, x: np.ndarray, level: int, num_threads: int = 1) -> np.ndarray:
    """float32 -> uint8|int8 through intq_quantize_f32 at ISA ``level`` (tests run every level), split over up
    to ``num_threads`` threads."""
    x = np.ascontiguousarray(x, np.float32)
    out = np.empty(x.shape, p["dtype"])
    LIB.intq_quantize_f32(ptr(x), ptr(out), x.size, p["scale"], p["z_out"], p["lo"], p["hi"], level, num_threads)
    return out


def _run_quantize(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """float32 -> q (intq_quantize_f32) or q -> q' (table gather); uint8|int8 of the input's shape."""
    if p["mode"] == "float":
        return [quantize_float_level(p, inputs[0], ISA_LEVEL, ctx.num_threads)]
    return [gather_run(inputs[0], p["table"], ISA_LEVEL, ctx.num_threads)]


def _plan_quantize(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this quantize on fixed buffers."""
    x, out = ins[0], outs[0]
    if x.size != out.size or out.dtype != np.dtype(p["dtype"]):
        return None
    if p["mode"] == "float":
        if x.dtype != np.float32:
            return None
        return [OP_QUANTIZE_F32, ptr(x), ptr(out), x.size, p["scale_bits"], p["z_out"], p["lo"], p["hi"],
                ISA_LEVEL, num_threads], []
    return gather_plan(x, out, p["table"], num_threads)


def _prepare_dequantize(graph: Graph, node: Node) -> dict:
    """Reference prepare, plus float32 table[byte] = the reference's output for that input code."""
    p = dict(ref_quant.prepare_dequantize(graph, node))
    p["table"] = byte_table(ref_quant.run_dequantize, p, graph.tensor(node.inputs[0]).dtype)
    return p


def _run_dequantize(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """q -> float32, one gather of the reference's 256 outputs."""
    return [gather_run(inputs[0], p["table"], ISA_LEVEL, ctx.num_threads)]


def _plan_dequantize(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this dequantize on fixed buffers."""
    return gather_plan(ins[0], outs[0], p["table"], num_threads)


def _split_parts(p: dict, x: np.ndarray) -> tuple[int, int, list[int]]:
    """(outer, bytes per part and outer row, each output's shape) of SPLIT on a C-contiguous ``x``."""
    axis, n = p["axis"], p["num_splits"]
    shape = list(x.shape)
    shape[axis] //= n
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    return outer, int(np.prod(shape[axis:], dtype=np.int64)) * x.dtype.itemsize, shape


def _run_split(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """(axis, x: T[..., k*n, ...]) -> n arrays T[..., k, ...], byte copies."""
    x = np.ascontiguousarray(inputs[1])
    outer, part, shape = _split_parts(p, x)
    outs = [np.empty(shape, x.dtype) for _ in range(p["num_splits"])]
    table = np.array([ptr(o) for o in outs], np.int64)
    LIB.intq_split(ptr(x), ptr(table), p["num_splits"], outer, part, ctx.num_threads)
    return outs


def _plan_split(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this split on fixed buffers (the outputs' addresses in a kept table)."""
    x = ins[1]
    outer, part, shape = _split_parts(p, x)
    if any(o.dtype != x.dtype or list(o.shape) != shape for o in outs):
        return None
    table = np.array([ptr(o) for o in outs], np.int64)
    return [OP_SPLIT, ptr(x), ptr(table), p["num_splits"], outer, part, num_threads], [table]


KERNELS = {"TRANSPOSE": Kernel(ref_transpose.prepare, _run_transpose, _plan_transpose),
           "SPLIT": Kernel(ref_split.prepare, _run_split, _plan_split),
           "PAD": Kernel(ref_pad.prepare, _run_pad, _plan_pad),
           "QUANTIZE": Kernel(_prepare_quantize, _run_quantize, _plan_quantize),
           "DEQUANTIZE": Kernel(_prepare_dequantize, _run_dequantize, _plan_dequantize)}
