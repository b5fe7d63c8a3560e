"""The integer graph: tensors by name, nodes in execution order, graph inputs and outputs. Imports: numpy."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from intq.errors import IRError
from intq.ir.ops import OP_OPTIONS, Node
from intq.ir.tensor import Quantization, Tensor


@dataclass
class Graph:
    """A DAG of integer ops. ``nodes`` are kept in a valid execution (topological) order.

    Build one with :meth:`add_tensor` / :meth:`add_constant` / :meth:`add_node`, or load it from a file
    (``intq.load_tflite``). ``intq.ir.verify(graph)`` checks it; ``intq.ir.format_graph`` prints it.
    """

    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    name: str = "intq"

    # --- building -----------------------------------------------------------------------------------
    def add_tensor(self, name: str, shape, dtype: str, quant: Quantization | None = None,
                   data: np.ndarray | None = None) -> str:
        if name in self.tensors:
            raise IRError("tensor defined twice", tensor=name)
        if data is not None:
            data = np.array(np.asarray(data, dtype=dtype).reshape(tuple(shape)), order="C")  # keeps 0-d
        self.tensors[name] = Tensor(name, tuple(shape), dtype, quant, data)
        return name

    def add_constant(self, name: str, data: np.ndarray, quant: Quantization | None = None) -> str:
        data = np.asarray(data)
        return self.add_tensor(name, data.shape, str(data.dtype), quant, data)

    def add_node(self, op: str, inputs, outputs, options=None, name: str = "") -> Node:
        if op not in OP_OPTIONS:
            from intq.errors import UnsupportedOpError
            raise UnsupportedOpError(op, f"node {name or len(self.nodes)}")
        node = Node(op, tuple(inputs), tuple(outputs), options if options is not None else OP_OPTIONS[op](), name)
        self.nodes.append(node)
        return node

    def unique_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.tensors:
            name, i = f"{base}_{i}", i + 1
        return name

    # --- queries ------------------------------------------------------------------------------------
    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise IRError("no such tensor", tensor=name) from None

    def producers(self) -> dict[str, Node]:
        return {out: n for n in self.nodes for out in n.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for n in self.nodes:
            for t in n.inputs:
                if t is not None:
                    users.setdefault(t, []).append(n)
        return users

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts

    def copy(self) -> "Graph":
        return copy.deepcopy(self)
