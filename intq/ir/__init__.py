"""Layer 1, the integer graph: tensors with quantization, ops with attributes, verification, text dump.

Imports: intq.scheme, numpy, stdlib. Framework-free: nothing here knows torch or flatbuffers.
"""
from intq.ir.tensor import Quantization, Tensor
from intq.ir.ops import ACTIVATIONS, OP_OPTIONS, Node, options_for
from intq.ir.graph import Graph
from intq.ir.verify import verify
from intq.ir.printer import format_graph

__all__ = ["Quantization", "Tensor", "Node", "Graph", "verify", "format_graph", "OP_OPTIONS", "ACTIVATIONS",
           "options_for"]
