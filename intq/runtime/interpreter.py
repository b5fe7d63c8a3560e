"""Interpreter: prepare every node once, then run inputs through the graph many times. Imports: ir, runtime."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from intq.errors import InputError, IntqError, IRError, UnsupportedOpError
from intq.ir import Graph, verify
from intq.runtime.kernels import ExecContext, Kernel, compiled_plan, kernel_set


class Interpreter:
    """Run an integer graph.

    >>> it = Interpreter(graph)                  # doctest: +SKIP
    >>> (y,) = it.run(x)                         # x in the graph input's dtype, e.g. uint8 NHWC

    ``kernels``: "fast" (default; compiled where built, the reference kernels otherwise), "reference"
    (the readable spec) or a mapping op -> Kernel. ``num_threads`` is passed to kernels that use it.
    Inputs must have the graph's dtype and shape; the leading (batch) dimension may differ.
    """

    def __init__(self, graph: Graph, kernels: str | Mapping[str, Kernel] = "fast", num_threads: int = 1):
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive int, got {num_threads!r}")
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
            except (ValueError, ArithmeticError, IndexError, KeyError, TypeError) as e:
                raise IRError(f"cannot prepare {node.op}: {e}", node=f"{node.name} (#{i})") from e
            self._steps.append((node, kernel.run, params))
        self._constants = {n: t.data for n, t in graph.tensors.items() if t.is_constant}
        # every node compiled: one C call per run at the graph's batch size (intq.runtime.fast.plan)
        self._plan = compiled_plan(graph, self._steps, self.kernels, num_threads)

    def _check_inputs(self, inputs) -> list[np.ndarray]:
        g = self.graph
        if len(inputs) != len(g.inputs):
            raise InputError(f"graph takes {len(g.inputs)} input(s), got {len(inputs)}")
        checked = []
        for name, x in zip(g.inputs, inputs):
            t = g.tensor(name)
            x = np.asarray(x)
            if str(x.dtype) != t.dtype:
                raise InputError(f"input {name!r} must be {t.dtype}, got {x.dtype}")
            if x.ndim != len(t.shape) or tuple(x.shape[1:]) != t.shape[1:]:
                raise InputError(f"input {name!r} must have shape {list(t.shape)} (any batch), got {list(x.shape)}")
            if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
                raise InputError(f"input {name!r} contains NaN or inf")
            checked.append(np.require(x, requirements="C"))
        return checked

    def run(self, *inputs, intermediates: bool = False):
        """Run the graph; return the list of outputs (or, with ``intermediates``, a dict of every tensor)."""
        checked = self._check_inputs(inputs)
        if self._plan is not None and not intermediates and self._plan.accepts(checked):
            outs = self._plan.run(checked)
            if outs is not None:
                return outs
        env: dict[str, np.ndarray] = dict(self._constants)
        env.update(zip(self.graph.inputs, checked))
        for node, run, params in self._steps:
            args = [None if n is None else env[n] for n in node.inputs]
            outs = run(params, args, self.ctx)
            for name, value in zip(node.outputs, outs):
                env[name] = value
        if intermediates:
            return env
        return [env[n] for n in self.graph.outputs]

    __call__ = run
