"""Loads the compiled kernel library (csrc/intq_fast.c) with ctypes. Imports: ctypes, importlib, numpy.

Raises ImportError when the library was not built, so intq.runtime.kernels falls back to the reference set.
``PlanEntry``: the one-call run of a plan (csrc/python/intq_entry.c), or None where that module was not
built.
``ISA_LEVEL``: 0 portable C, 1 AVX2, 2 AVX512-VNNI, as detected by ``__builtin_cpu_supports`` at load, capped
by the environment variable ``INTQ_ISA`` (``portable``, ``avx2`` or ``avx512-vnni``) when it is set: the
kernels of a lower level, e.g. the portable C that CPUs without AVX2 run, on this machine.
"""
from __future__ import annotations

import ctypes
import importlib.machinery
import os
from pathlib import Path

import numpy as np

from intq.errors import ConfigError

ISA_NAMES = ("portable", "avx2", "avx512-vnni")


def _load() -> ctypes.CDLL:
    here = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = here / f"_intq_fast{suffix}"
        if path.exists():
            try:
                return ctypes.CDLL(str(path))
            except OSError as e:                       # broken build: behave as "not built"
                raise ImportError(f"intq fast kernels: cannot load {path}: {e}") from e
    raise ImportError("intq fast kernels are not built (pip install . with a C compiler)")


LIB = _load()
_P, _I = ctypes.c_void_p, ctypes.c_int
LIB.intq_isa_level.restype = _I
LIB.intq_isa_level.argtypes = []
LIB.intq_rq_pack.restype = None
LIB.intq_rq_pack.argtypes = [_P, _P, _I, _P]
LIB.intq_conv.restype = _I
LIB.intq_conv.argtypes = [_P, _P, _P, _P, _P, _P, _P, _P, _P, _I, _I, _P]
LIB.intq_depthwise.restype = _I
LIB.intq_depthwise.argtypes = [_P, _P, _P, _P, _P, _P, _P, _P, _P, _I, _I, _P]
LIB.intq_conv_work_bytes.restype = ctypes.c_long
LIB.intq_conv_work_bytes.argtypes = [_P, _I, _I]
LIB.intq_depthwise_work_bytes.restype = ctypes.c_long
LIB.intq_depthwise_work_bytes.argtypes = [_P, _I, _I]
LIB.intq_softmax.restype = None
LIB.intq_softmax.argtypes = [_P, _P, ctypes.c_long, ctypes.c_long, _I, _P, _P, _P, _I, _I]
LIB.intq_get_reciprocal.restype = ctypes.c_int32
LIB.intq_get_reciprocal.argtypes = [ctypes.c_int32, _I, ctypes.POINTER(ctypes.c_int32)]
LIB.intq_lut2.restype = None
LIB.intq_lut2.argtypes = [_P, _P, _P, _P, ctypes.c_long, _I]
LIB.intq_global_avg_pool.restype = None
LIB.intq_global_avg_pool.argtypes = [_P, _P, ctypes.c_long, ctypes.c_long, ctypes.c_long, _I, _I, _I, _I]
LIB.intq_concat.restype = None
LIB.intq_concat.argtypes = [_P, ctypes.c_long, ctypes.c_long, _P, _I, _I]
LIB.intq_add.restype = None
LIB.intq_add.argtypes = [_P, _P, _P, _P, ctypes.c_long, _I, _I]
LIB.intq_resize_bilinear.restype = None
LIB.intq_resize_bilinear.argtypes = [_P, _P] + [ctypes.c_long] * 6 + [_P] * 6 + [_I, _I, _I, _I]
LIB.intq_transpose.restype = None
LIB.intq_transpose.argtypes = [_P, _P, _P, _I]
LIB.intq_pad.restype = None
LIB.intq_pad.argtypes = [_P, _P, _P, _I]
LIB.intq_quantize_f32.restype = None
LIB.intq_quantize_f32.argtypes = [_P, _P, ctypes.c_long, ctypes.c_float, _I, _I, _I, _I, _I]
LIB.intq_lut1.restype = None
LIB.intq_lut1.argtypes = [_P, _P, ctypes.c_long, _P, _I, _I, _I]
LIB.intq_max_pool.restype = None
LIB.intq_max_pool.argtypes = [_P, _P, _P]
LIB.intq_avg_pool.restype = None
LIB.intq_avg_pool.argtypes = [_P, _P, _P]
LIB.intq_mean_table.restype = None
LIB.intq_mean_table.argtypes = [_P, _P, _P, _P, _P, _I, _I]
LIB.intq_split.restype = None
LIB.intq_split.argtypes = [_P, _P, ctypes.c_long, ctypes.c_long, ctypes.c_long, _I]
LIB.intq_arg_max.restype = None
LIB.intq_arg_max.argtypes = [_P, _P, ctypes.c_long, ctypes.c_long, ctypes.c_long, _I, _I, _I]
LIB.intq_copy.restype = None
LIB.intq_copy.argtypes = [_P, _P, ctypes.c_long]
LIB.intq_add_rescale.restype = None
LIB.intq_add_rescale.argtypes = [_P, _P, ctypes.c_long, _I, _I, _I, _I, _I]
LIB.intq_mul.restype = None
LIB.intq_mul.argtypes = [_P, _P, _P, _P, ctypes.c_long, _I, _I]
LIB.intq_run_plan.restype = _I
LIB.intq_run_plan.argtypes = [_P, ctypes.c_long]
PLAN_WORDS = 16
OP_CONV, OP_DEPTHWISE, OP_LUT2, OP_SOFTMAX, OP_GLOBAL_AVG, OP_CONCAT, OP_RESIZE_BILINEAR = 1, 2, 3, 4, 5, 6, 7
OP_TRANSPOSE, OP_PAD, OP_QUANTIZE_F32, OP_LUT1, OP_MAX_POOL, OP_MEAN_TABLE, OP_ADD = 8, 9, 10, 11, 12, 13, 14
OP_SPLIT, OP_ARG_MAX, OP_AVG_POOL, OP_COPY, OP_MUL = 15, 16, 17, 18, 19


def _isa_level(detected: int) -> int:
    """``detected`` capped by INTQ_ISA (unset or empty: not capped); ConfigError (a ValueError) naming the
    choices otherwise."""
    want = os.environ.get("INTQ_ISA", "").strip().lower()
    if not want:
        return detected
    if want not in ISA_NAMES:
        raise ConfigError(f"INTQ_ISA must be one of {', '.join(ISA_NAMES)} (or unset), got {want!r}")
    return min(detected, ISA_NAMES.index(want))


ISA_LEVEL: int = _isa_level(int(LIB.intq_isa_level()))
#: intq_run_plan's address, for the one-call entry below
RUN_PLAN_AT: int = ctypes.cast(LIB.intq_run_plan, ctypes.c_void_p).value

try:                    # a planned run as one CPython call (csrc/python/intq_entry.c); optional, like LIB
    from intq.runtime.fast._intq_entry import MAX_TENSORS as ENTRY_MAX_TENSORS
    from intq.runtime.fast._intq_entry import PlanEntry
except ImportError:
    PlanEntry, ENTRY_MAX_TENSORS = None, 0


#: multiply-accumulates below which a conv-family call stays on one thread: handing a chunk to a polling
#: worker costs about a microsecond (csrc/intq_threads.c), so splitting pays off from ~32K MACs per thread
#: (chosen with benchmarks/compare_builds.py --threads 2, docs/performance.md); run_level() callers choose
#: threads freely
MIN_MACS_PER_THREAD = 1 << 15


#: the most threads a compiled kernel uses (csrc/intq_threads.c POOL_MAX + 1): more are clamped to it
POOL_THREADS = 64


def threads_for(macs: int, num_threads: int) -> int:
    """``num_threads``, or fewer so that each thread gets at least MIN_MACS_PER_THREAD of work (>= 1), and at
    most POOL_THREADS (the per-thread scratch a plan sizes by it is never larger than the pool can use)."""
    return max(1, min(int(num_threads), POOL_THREADS, int(macs) // MIN_MACS_PER_THREAD))


#: byte alignment of the buffers and constants the kernels read: a cache line (no vector load straddles two
#: lines, and threads writing neighbouring outputs share no line) and an AVX-512 vector
ALIGN = 64


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on an ALIGN-byte boundary."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(n + ALIGN, np.uint8)
    off = (-raw.ctypes.data) % ALIGN
    return raw[off:off + n].view(dtype).reshape(shape)


def aligned(a) -> np.ndarray:
    """``a`` as a C-contiguous ALIGN-byte aligned array: ``a`` itself when it is one, else a copy."""
    a = np.asarray(a)
    if a.flags.c_contiguous and a.ctypes.data % ALIGN == 0:
        return a
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


def aligned_zeros(shape, dtype) -> np.ndarray:
    """aligned_empty filled with zeros."""
    out = aligned_empty(shape, dtype)
    out[...] = 0
    return out


def pinned_consts(q: dict, keys) -> tuple:
    """Replace each ``q[k]`` by an ALIGN-byte aligned copy where it is not one, and return their addresses in
    ``keys`` order (the kernels' constant arguments; ``q`` keeps the arrays alive)."""
    for k in keys:
        q[k] = aligned(q[k])
    return tuple(ptr(q[k]) for k in keys)


def shift_block(m0: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The kernels' ``shift`` argument: the per-channel shifts (length np, even) followed by the vector
    requantization constants derived from them and ``m0`` (intq_rq_pack, csrc/intq_common.h), once at prepare."""
    m0, shift = (np.ascontiguousarray(a, np.int32) for a in (m0, shift))
    if m0.shape != shift.shape or m0.ndim != 1 or m0.size % 2:
        raise ValueError(f"shift_block: m0 {m0.shape} and shift {shift.shape} must be one even length")
    block = aligned_empty(5 * m0.size + 1, np.int32)
    LIB.intq_rq_pack(ptr(m0), ptr(shift), int(m0.size), ptr(block))
    return block


def ptr(a: np.ndarray) -> int:
    """Address of a C-contiguous array's data (the caller keeps the array alive during the call)."""
    return a.ctypes.data


def call_conv_like(fn, name: str, p: dict, x: np.ndarray, num_threads: int, level: int,
                   consts: tuple | None = None) -> np.ndarray:
    """Run a packed conv-family C kernel ``fn`` (intq_conv / intq_depthwise) on x uint8|int8[N,H,W,C].

    ``p`` is the prepared dict (geom, consts, out_hw, cout, dtype); the batch comes from ``x``; ``level`` is
    capped at the machine's ISA_LEVEL; ``consts`` replaces ``p["consts"]`` when given. Returns
    [N, oh, ow, C_out] in p's dtype.
    """
    x = np.ascontiguousarray(x)
    geom = p["geom"].copy()
    geom[0] = x.shape[0]
    out = aligned_empty((x.shape[0], *p["out_hw"], p["cout"]), p["dtype"])
    if fn(ptr(geom), ptr(x), *(p["consts"] if consts is None else consts), ptr(out), int(num_threads),
          int(min(level, ISA_LEVEL)), None):
        raise MemoryError(f"{name}: scratch allocation failed")
    return out
