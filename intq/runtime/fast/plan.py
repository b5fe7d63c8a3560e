"""Whole-graph plan: every node's compiled kernel called from C in one ctypes call. Imports: numpy, intq.runtime.

Per-node calls from Python cost ~10 us each (pointer look-ups, the ctypes call, output allocation), which is
a third of a 1 ms model. When every node of a graph has a compiled kernel with a ``plan`` function (or is a
RESHAPE or SQUEEZE, which becomes a view), :meth:`Plan.build` allocates the activation buffers once for the
graph's batch size, reusing a dead tensor's memory for later ones (:class:`_Arena`), and one workspace for the
kernels' scratch (the largest any call asks for), and records each node's C call (csrc/intq_plan.c
``intq_run_plan``). :meth:`Plan.run` copies the inputs in, makes one call and returns the outputs as new
arrays (the call itself copies inputs and outputs of 4 KB or more), so the results are those of the same
kernels called one by one; :attr:`Plan.entry` does the same as one CPython call (csrc/python/intq_entry.c).
``intermediates=True`` and concurrent runs use the node-by-node path; the Interpreter builds a plan for
another batch size from the shapes of its first node-by-node run at that size.
"""
from __future__ import annotations

import functools
import math
import threading
from ctypes import addressof as _addressof
from ctypes import c_char as _c_char
from typing import Mapping

import numpy as np

from intq.errors import AllocationError
from intq.ir.graph import Graph
from intq.runtime.fast._lib import (ENTRY_MAX_TENSORS, LIB, OP_COPY, PLAN_WORDS, RUN_PLAN_AT, PlanEntry, aligned,
                                   aligned_empty, aligned_zeros, ptr)
from intq.runtime.kernels import Kernel

#: inputs and outputs at least this large are copied by the plan's C call (Plan.run)
_C_COPY_BYTES = 4096


class _Arena:
    """Activation memory reused once a tensor is dead (its last reader has run), so a small model's working
    set stays in cache. Graph outputs keep their own blocks; a RESHAPE view keeps its source's block alive;
    a node's outputs never share memory with its inputs (blocks are released after the node)."""

    def __init__(self, graph: Graph, steps: list):
        self.last: dict[str, int] = {}
        for i, (node, _, _) in enumerate(steps):
            for n in node.inputs:
                if n is not None:
                    self.last[n] = i
        for n in graph.outputs:
            self.last[n] = len(steps)
        self.root: dict[str, str] = {}                       # tensor -> tensor owning its block
        self.owned: dict[str, np.ndarray] = {}               # owner tensor -> its uint8 block
        self.free: list[np.ndarray] = []
        self.blocks: list[np.ndarray] = []

    def take(self, name: str, shape, dtype) -> np.ndarray:
        """A C-contiguous array for tensor ``name`` on the smallest free block that fits (or a new one)."""
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        fits = [b for b in self.free if b.size >= nbytes]
        if fits:
            block = min(fits, key=lambda b: b.size)
            self.free = [b for b in self.free if b is not block]
        else:
            block = aligned_zeros(max(nbytes, 1), np.uint8)
            self.blocks.append(block)
        self.root[name], self.owned[name] = name, block
        return block[:nbytes].view(dtype).reshape(shape)

    def alias(self, view: str, source: str) -> None:
        """``view`` shares ``source``'s block: the block lives until both are dead."""
        owner = self.root.get(source)
        if owner is not None:
            self.root[view] = owner
            self.last[owner] = max(self.last.get(owner, -1), self.last.get(view, -1))

    def release_after(self, step: int) -> None:
        """Free the blocks whose owner (and views) were last read at or before ``step``."""
        for owner in [o for o, b in self.owned.items() if self.last.get(o, -1) <= step]:
            self.free.append(self.owned.pop(owner))


def _allocating(name: str, shape, dtype, make, *args):
    """``make(*args)``, the buffer of tensor ``name`` (``shape``, ``dtype``); AllocationError naming the tensor, its
    shape and bytes when memory runs out."""
    try:
        return make(*args)
    except MemoryError as e:
        nbytes = math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize
        raise AllocationError(f"tensor {name!r} {np.dtype(dtype)}{[int(d) for d in shape]}: cannot allocate "
                              f"{nbytes:,} bytes ({nbytes / 2 ** 30:.1f} GiB)") from e


class Plan:
    """Planned buffers and the int64 record table of one graph (build with :meth:`build`)."""

    def __init__(self, graph: Graph, bufs: dict, records: np.ndarray, keep: list):
        self.inputs = [bufs[n] for n in graph.inputs]
        self.outputs = [bufs[n] for n in graph.outputs]
        # the call's table: a copy record per large input (its source set by run), the kernels' records, a
        # copy record per large output (its destination set by run); ``records`` is the kernels' part (a view)
        big_in = [k for k, b in enumerate(self.inputs) if b.nbytes >= _C_COPY_BYTES]
        big_out = [m for m, y in enumerate(self.outputs) if y.nbytes >= _C_COPY_BYTES]
        table = np.zeros((len(big_in) + len(records) + len(big_out), PLAN_WORDS), np.int64)
        for row, k in enumerate(big_in):
            table[row, :4] = [OP_COPY, ptr(self.inputs[k]), 0, self.inputs[k].nbytes]
        table[len(big_in):len(big_in) + len(records)] = records
        for row, m in enumerate(big_out, len(big_in) + len(records)):
            table[row, :4] = [OP_COPY, 0, ptr(self.outputs[m]), self.outputs[m].nbytes]
        self._table, self.records = table, table[len(big_in):len(big_in) + len(records)]
        self._table_at, self._n_table = ptr(table), len(table)
        self._in_rows = [big_in.index(k) if k in big_in else -1 for k in range(len(self.inputs))]
        self._out_rows = [len(big_in) + len(records) + big_out.index(m) if m in big_out else -1
                          for m in range(len(self.outputs))]
        self._keep, self._lock = keep, threading.Lock()
        #: ``entry(*inputs)``: :meth:`run` as one CPython call (csrc/python/intq_entry.c) for inputs of exactly
        #: the planned shapes and buffer formats, C-contiguous; it returns None for any others (and while another
        #: thread runs the plan), which :meth:`run` takes. None where the module was not built.
        self.entry = None
        if PlanEntry is not None and max(len(self.inputs), len(self.outputs)) <= ENTRY_MAX_TENSORS:
            self.entry = PlanEntry(RUN_PLAN_AT, table, PLAN_WORDS, list(self.inputs), list(self._in_rows),
                                   list(self.outputs), list(self._out_rows),
                                   functools.partial(self._lock.acquire, False), self._lock.release, np.empty_like)
        self.n_blocks = 0                                     # activation blocks allocated (set by build)
        self.workspace: np.ndarray | None = None              # the kernels' shared scratch (set by build)

    @staticmethod
    def build(graph: Graph, steps: list, kernels: Mapping[str, Kernel], num_threads: int,
              shapes: Mapping[str, tuple] | None = None) -> "Plan | None":
        """Plan ``steps`` ((node, run, params) of an Interpreter), or None if a node has no plan.

        ``shapes``: the run-time shape of every non-constant tensor (from a node-by-node run at another batch
        size); the graph's own shapes by default. The kernels' ``plan`` functions read shapes from the buffers.
        """
        shapes = shapes or {}
        bufs: dict[str, np.ndarray] = {}
        for name, t in graph.tensors.items():
            if t.is_constant:
                bufs[name] = aligned(t.data)
        for name in graph.inputs:
            t = graph.tensor(name)
            shape = tuple(shapes.get(name, t.shape))
            if name in bufs or any(int(d) < 1 for d in shape):
                return None
            bufs[name] = _allocating(name, shape, t.dtype, aligned_zeros, shape, t.dtype)
        arena = _Arena(graph, steps)
        records, keep = [], []
        work_at, work_bytes = [], 0           # (record, word) of each workspace pointer; the largest request
        for i, (node, _, params) in enumerate(steps):
            outs_t = [graph.tensor(n) for n in node.outputs]
            out_shapes = [tuple(shapes.get(t.name, t.shape)) for t in outs_t]
            if any(any(int(d) < 1 for d in sh) for sh in out_shapes) or any(t.name in bufs for t in outs_t):
                return None
            if any(n is not None and n not in bufs for n in node.inputs):
                return None
            ins = [None if n is None else bufs[n] for n in node.inputs]
            if node.op in ("RESHAPE", "SQUEEZE") and len(outs_t) == 1 \
                    and ins[0].size == int(np.prod(out_shapes[0])) and ins[0].dtype == np.dtype(outs_t[0].dtype):
                bufs[outs_t[0].name] = ins[0].reshape(out_shapes[0])            # a view: no call
                arena.alias(outs_t[0].name, node.inputs[0])
                continue
            fn = kernels[node.op].plan
            outs = [_allocating(t.name, sh, t.dtype, arena.take, t.name, sh, t.dtype)
                    for t, sh in zip(outs_t, out_shapes)]
            try:
                rec = None if fn is None else fn(params, ins, outs, num_threads)
            except MemoryError as e:
                raise AllocationError(f"node {node.name!r} (#{i}): cannot allocate the scratch of its {node.op} "
                                      f"(output {outs_t[0].name!r} {outs_t[0].dtype}{list(out_shapes[0])}, "
                                      f"num_threads={num_threads})") from e
            if rec is None:
                return None
            words, alive, *work = rec
            if work:                          # the next word: the shared workspace, patched in below
                work_at.append((len(records), len(words)))
                work_bytes = max(work_bytes, int(work[0]))
                words = list(words) + [0]
            records.append(list(words) + [0] * (PLAN_WORDS - len(words)))
            keep.extend(alive)
            keep.append(params)               # the prepared constants (packed weights...) the record points at
            bufs.update(zip(node.outputs, outs))
            arena.release_after(i)
        if not records or any(n not in bufs for n in graph.outputs):
            return None
        workspace = None
        if work_at:        # one workspace for every kernel's scratch: the records run one after another
            workspace = _allocating("<kernels' workspace>", (work_bytes,), np.uint8,
                                    aligned_empty, work_bytes, np.uint8)
            keep.append(workspace)
            at = ptr(workspace)
            for r, w in work_at:
                records[r][w] = at
        plan = Plan(graph, bufs, np.array(records, np.int64), keep + list(bufs.values()) + arena.blocks)
        plan.n_blocks = len(arena.blocks)
        plan.workspace = workspace
        return plan

    def accepts(self, inputs: list[np.ndarray]) -> bool:
        """Whether these (checked) inputs have the planned shapes."""
        return all(x.shape == b.shape for x, b in zip(inputs, self.inputs))

    def run(self, inputs) -> list[np.ndarray] | None:
        """Outputs for ``inputs`` (planned shapes, any strides and dtypes, cast as ``buf[...] = x`` would), or
        None while another thread runs this plan. Inputs and outputs of _C_COPY_BYTES or more are copied in
        and out by the C call itself (csrc/intq_layout.c ``intq_copy``), smaller ones by NumPy: glibc's
        memcpy, which ``buf[...] = x`` and ``y.copy()`` use, ran 2-13x slower at some distances between two
        large buffers (docs/performance.md). :attr:`entry` does the same in C for the common inputs."""
        lock = self._lock
        if not lock.acquire(blocking=False):
            return None
        try:
            table, held = self._table, []
            for k, (buf, x) in enumerate(zip(self.inputs, inputs)):
                row = self._in_rows[k]
                if row < 0:
                    buf[...] = x
                    continue
                if x.dtype != buf.dtype or not x.flags.c_contiguous:
                    x = np.ascontiguousarray(x, buf.dtype)                # a temporary: held below
                table[row, 2] = x.ctypes.data
                held.append(x)
            outs = [None if row < 0 else np.empty(y.shape, y.dtype) for y, row in zip(self.outputs, self._out_rows)]
            for out, row in zip(outs, self._out_rows):
                if row >= 0:
                    table[row, 1] = _addressof(_c_char.from_buffer(out))     # ~1 us less than .ctypes.data
            if LIB.intq_run_plan(self._table_at, self._n_table):
                raise MemoryError("intq_run_plan: scratch allocation failed")
            return [y.copy() if out is None else out for y, out in zip(self.outputs, outs)]
        finally:
            lock.release()
