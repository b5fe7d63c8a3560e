"""Interpreter: prepare every node once, then run inputs through the graph many times. Imports: ir, runtime."""
from __future__ import annotations

import os
import threading
from typing import Mapping

import numpy as np

from intq.errors import AllocationError, InputError, IntqError, IRError, UnsupportedOpError
from intq.ir import Graph, verify
from intq.runtime.batch_axis import batch_guards
from intq.runtime.kernels import MAX_THREADS, ExecContext, Kernel, check_num_threads, compiled_plan, kernel_set


class Interpreter:
    """Run an integer graph.

    >>> it = Interpreter(graph)                  # doctest: +SKIP
    >>> (y,) = it.run(x)                         # x in the graph input's dtype, e.g. uint8 NHWC

    ``graph``: an intq.Graph (a .tflite file: ``intq.load_tflite(path)`` first). ``kernels``: "fast" (default;
    compiled where built, the reference kernels otherwise), "reference" (the readable spec) or a mapping
    op -> Kernel. ``num_threads`` (an integer from 1 to MAX_THREADS) is passed to kernels that use it.
    Inputs must have the graph's dtype and shape; the leading (batch) dimension may differ (not be 0): each
    sample is then computed as alone, and a node that would mix samples or has no meaning at another batch (a
    RESHAPE or SQUEEZE that does not keep dimension 0 as the batch, a SPLIT or CONCATENATION along it, a
    constant operand spanning it: intq.runtime.batch_axis) raises InputError naming it, as do inputs of
    differing batch sizes. A tensor too large to allocate raises
    AllocationError (a MemoryError) naming it.

    When every node's kernel can plan it, a run is one C call over buffers planned for the graph's batch
    size (intq.runtime.fast.plan). The first run at another batch size of up to OTHER_PLAN_MAX_BATCH goes node by
    node and plans that size from the shapes it saw, so later runs at it are one call too (the last
    OTHER_PLANS_KEPT such sizes are kept). Results are the same bytes on every path.
    """

    MAX_THREADS = MAX_THREADS
    OTHER_PLANS_KEPT = 4
    OTHER_PLAN_MAX_BATCH = 16

    def __init__(self, graph: Graph, kernels: str | Mapping[str, Kernel] = "fast", num_threads: int = 1):
        if not isinstance(graph, Graph):
            hint = "; load the model with intq.load_tflite(path) first" if isinstance(graph, (str, os.PathLike)) else ""
            raise TypeError(f"Interpreter takes an intq.Graph, got {type(graph).__name__}{hint}")
        num_threads = check_num_threads(num_threads)
        self.graph = verify(graph)
        self.kernels = kernel_set(kernels)
        self.ctx = ExecContext(num_threads=num_threads)
        self._steps = []
        for i, node in enumerate(graph.nodes):
            kernel = self.kernels.get(node.op)
            if kernel is None:
                raise UnsupportedOpError(node.op, f"node {node.name} (#{i})", "no kernel in this kernel set")
            try:
                params = kernel.prepare(graph, node)
            except IntqError:
                raise
            except (ValueError, ArithmeticError, IndexError, KeyError, TypeError, AttributeError) as e:
                raise IRError(f"cannot prepare {node.op}: {e}", node=f"{node.name} (#{i})") from e
            self._steps.append((node, kernel.run, params))
        self._constants = {n: t.data for n, t in graph.tensors.items() if t.is_constant}
        self._batch_guards = batch_guards(graph)       # nodes that cannot run at another batch size
        self._declared_batch = [graph.tensor(n).shape[0] for n in graph.inputs if graph.tensor(n).shape]
        self._input_dtypes = [(n, np.dtype(graph.tensor(n).dtype)) for n in graph.inputs]
        # every node compiled: one C call per run at the graph's batch size (intq.runtime.fast.plan)
        self._plan = compiled_plan(graph, self._steps, self.kernels, num_threads)
        self._other_plans: dict[tuple, object] = {}     # input shapes -> Plan (or None: not plannable)
        self._other_lock = threading.Lock()
        # the common call, integer inputs of the planned shapes, goes straight to the plan: after a model's
        # kernels have pushed the interpreter out of the caches, each Python step of the general path costs
        # microseconds (70-100 us more than the C call on a 0.8 ms model, 11-24 us this way; docs/performance.md).
        # The checks are those of _check_inputs: an ndarray of the input's dtype and planned shape (integers:
        # no NaN check) passes them.
        # Plan.entry takes that call in C (csrc/python/intq_entry.c; 4-8 us less) where it was built.
        self._direct = self._entry = None
        if self._plan is not None and all(dt.kind in "iu" for _, dt in self._input_dtypes):
            self._direct = (self._plan, tuple((dt, tuple(b.shape)) for (_, dt), b in
                                              zip(self._input_dtypes, self._plan.inputs)))
            self._entry = self._plan.entry

    def _check_inputs(self, inputs) -> list[np.ndarray]:
        g = self.graph
        if len(inputs) != len(g.inputs):
            raise InputError(f"graph takes {len(g.inputs)} input(s), got {len(inputs)}")
        checked = []
        for (name, dtype), x in zip(self._input_dtypes, inputs):
            t = g.tensor(name)
            x = np.asarray(x)
            if x.dtype != dtype:
                raise InputError(f"input {name!r} must be {t.dtype}, got {x.dtype}")
            if x.ndim != len(t.shape) or tuple(x.shape[1:]) != t.shape[1:]:
                raise InputError(f"input {name!r} must have shape {list(t.shape)} (any batch), got {list(x.shape)}")
            if x.ndim and x.shape[0] == 0:
                raise InputError(f"batch of 0 in input {name!r} (shape {list(x.shape)}): nothing to run")
            if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
                raise InputError(f"input {name!r} contains NaN or inf")
            checked.append(x if x.flags.c_contiguous else np.ascontiguousarray(x))
        self._check_batch(checked)
        return checked

    def _check_batch(self, checked: list) -> None:
        """At a batch size other than the graph's: every input at one batch (the graph's inputs sharing one),
        and no node that works across dimension 0 (intq.runtime.batch_axis)."""
        declared, got = self._declared_batch, [x.shape[0] for x in checked if x.ndim]
        if got == declared:
            return
        if len(set(got)) > 1 or len(set(declared)) > 1:
            shown = ", ".join(f"{n!r} {list(x.shape)}" for n, x in zip(self.graph.inputs, checked))
            raise InputError(f"inputs at another batch size than the graph's must share one batch size, and so "
                             f"must the graph's inputs: got {shown}")
        for node in self.graph.nodes:
            why = self._batch_guards.get(node.name)
            if why is not None:
                raise InputError(f"node {node.name!r} ({node.op}) {why}, so the graph cannot run at batch {got[0]} "
                                 f"(it has {declared[0]}): run it at its own batch size")

    def run(self, *inputs, intermediates: bool = False):
        """Run the graph; return the list of outputs (or, with ``intermediates``, a dict of every tensor)."""
        if self._entry is not None and not intermediates:
            outs = self._entry(*inputs)
            if outs is not None:
                return outs
        direct = self._direct
        if direct is not None and not intermediates and len(inputs) == len(direct[1]):
            for x, (dt, shape) in zip(inputs, direct[1]):
                if type(x) is not np.ndarray or x.shape != shape or x.dtype != dt:
                    break
            else:
                outs = direct[0].run(inputs)
                if outs is not None:
                    return outs
        checked = self._check_inputs(inputs)
        key, plan_other = None, False
        if self._plan is not None and not intermediates:
            if self._plan.accepts(checked):
                plan = self._plan
            else:
                key = tuple(x.shape for x in checked)
                with self._other_lock:
                    plan = self._other_plans.get(key)
                    plan_other = key not in self._other_plans and all(
                        x.ndim and x.shape[0] <= self.OTHER_PLAN_MAX_BATCH for x in checked)
            outs = None if plan is None else plan.run(checked)
            if outs is not None:
                return outs
        env: dict[str, np.ndarray] = dict(self._constants)
        env.update(zip(self.graph.inputs, checked))
        for i, (node, run, params) in enumerate(self._steps):
            args = [None if n is None else env[n] for n in node.inputs]
            try:
                outs = run(params, args, self.ctx)
            except AllocationError:
                raise
            except MemoryError as e:
                raise self._out_of_memory(i, node, checked) from e
            for name, value in zip(node.outputs, outs):
                env[name] = value
        if intermediates:
            return env
        if plan_other:
            self._plan_other(key, env)
        return [env[n] for n in self.graph.outputs]

    def _out_of_memory(self, i: int, node, inputs: list) -> AllocationError:
        """AllocationError for node #i that ran out of memory, naming its outputs at this run's batch."""
        batch = inputs[0].shape[0] if inputs and inputs[0].ndim else None
        outs = []
        for name in node.outputs:
            t = self.graph.tensor(name)
            shape = [batch, *t.shape[1:]] if t.shape and batch is not None else list(t.shape)
            nbytes = int(np.prod(shape, dtype=np.float64)) * np.dtype(t.dtype).itemsize
            outs.append(f"tensor {name!r} {t.dtype}{shape} ({nbytes:,} bytes)")
        return AllocationError(f"node {node.name!r} (#{i}): out of memory running {node.op} at batch {batch}, "
                               f"output {', '.join(outs)}")

    def _plan_other(self, key: tuple, env: dict) -> None:
        """Plan the input shapes ``key`` from a node-by-node run's tensors ``env`` (kept: the last few)."""
        shapes = {n: np.shape(v) for n, v in env.items() if n not in self._constants}
        plan = compiled_plan(self.graph, self._steps, self.kernels, self.ctx.num_threads, shapes)
        with self._other_lock:
            if key not in self._other_plans:
                while len(self._other_plans) >= self.OTHER_PLANS_KEPT:
                    self._other_plans.pop(next(iter(self._other_plans)))
                self._other_plans[key] = plan

    __call__ = run
