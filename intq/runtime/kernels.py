"""Kernel sets: immutable maps from op name to (prepare, run). Imports: numpy, intq.errors, runtime kernels.

A kernel is two functions, as TFLite splits Prepare and Eval:

* ``prepare(graph, node) -> params``: all float maths, once (multipliers and shifts from
  ``quantize_multiplier``, negated offsets, activation clamp range, padding, lookup tables, packed
  weights). Raises ``IRError``/``UnsupportedOpError`` naming the node for anything it cannot run.
* ``run(params, inputs, ctx) -> list[np.ndarray]``: integer-only. ``inputs`` are the arrays of the
  node's inputs in order (``None`` for an absent optional input; constants included); ``ctx`` is an
  :class:`ExecContext`. Returns one array per node output, in the output tensors' dtypes.

A compiled kernel may add ``plan(params, ins, outs, num_threads) -> (words, keep_alive[, work_bytes]) | None``:
the record of its C call on fixed buffers (arrays ``ins``/``outs`` of the planned batch) for the one-call
executor of intq.runtime.fast.plan; None when this node cannot be planned (the whole graph then runs node by
node). With ``work_bytes``, the plan appends to the record the address of a 64-byte aligned workspace of at
least that many bytes, one for the whole plan (its calls run one after another), so a planned run
allocates no scratch.

``REFERENCE`` is the spec (runtime/reference, NumPy written to be read); ``FAST`` (runtime/fast) has
the same ops and must match it byte for byte. An op missing from a set raises UnsupportedOpError.
"""
from __future__ import annotations

import numbers
import operator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from intq.errors import ConfigError


@dataclass(frozen=True)
class Kernel:
    prepare: Callable[..., Any]
    run: Callable[..., list]
    plan: Callable[..., Any] | None = None


#: the most threads an Interpreter takes (``num_threads``; the compiled kernels use at most 64 of them)
MAX_THREADS = 1024


def check_num_threads(num_threads) -> int:
    """``num_threads`` as an int: any integral number (int, numpy integer) from 1 to MAX_THREADS, not a bool;
    ConfigError (a ValueError) otherwise."""
    if isinstance(num_threads, (bool, np.bool_)) or not isinstance(num_threads, numbers.Integral):
        raise ConfigError(f"num_threads must be an integer from 1 to {MAX_THREADS}, got {num_threads!r}")
    n = operator.index(num_threads)
    if not 1 <= n <= MAX_THREADS:
        raise ConfigError(f"num_threads must be an integer from 1 to {MAX_THREADS}, got {n}")
    return n


@dataclass(frozen=True)
class ExecContext:
    """What a kernel may know about the run: the thread budget."""
    num_threads: int = 1


def _reference() -> Mapping[str, Kernel]:
    from intq.runtime.reference import KERNELS
    return KERNELS


def _fast() -> Mapping[str, Kernel]:
    try:
        from intq.runtime.fast import KERNELS
    except ImportError:          # fast kernels not built: the reference set serves
        return _reference()
    merged = dict(_reference())
    merged.update(KERNELS)
    return MappingProxyType(merged)


def compiled_plan(graph, steps: list, kernels: Mapping[str, Kernel], num_threads: int, shapes=None):
    """The one-call plan of the whole graph (intq.runtime.fast.plan.Plan) when every node can be planned, else
    None; ``shapes`` (tensor name -> shape) plans another batch size than the graph's."""
    try:
        from intq.runtime.fast.plan import Plan
    except ImportError:          # fast kernels not built
        return None
    return Plan.build(graph, steps, kernels, num_threads, shapes)


def kernel_set(kernels: str | Mapping[str, Kernel]) -> Mapping[str, Kernel]:
    """Resolve "reference" | "fast" | a custom mapping to a kernel set."""
    if isinstance(kernels, Mapping):
        return kernels
    if kernels == "reference":
        return _reference()
    if kernels == "fast":
        return _fast()
    raise ValueError(f"kernels must be 'reference', 'fast' or a mapping, got {kernels!r}")
