"""Structural and quantization checks of a Graph; every error names the node and tensor. Imports: numpy."""
from __future__ import annotations

import numpy as np

from intq.errors import IRError, UnsupportedOpError
from intq.ir.graph import Graph
from intq.ir.ops import ACTIVATIONS, OP_OPTIONS, PADDINGS

_QUANTIZED = ("uint8", "int8", "int16")
_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def verify(graph: Graph) -> Graph:
    """Raise IRError (or UnsupportedOpError) if ``graph`` is not a runnable integer graph; return it.

    Checks: known ops with options of the right type; every input defined (graph input, constant or an
    earlier node's output: topological order); each tensor produced once; constants hold data of their
    declared shape and dtype; quantized activation tensors, and uint8/int8 constants a node reads, carry
    quantization parameters with scale > 0 and a zero point in range;
    biases of CONV/DEPTHWISE/FC are int32 with zero point 0 and scale = S_in * S_w (paper §2.4).
    """
    defined = set(graph.inputs)
    for name in graph.inputs:
        t = graph.tensor(name)
        if t.is_constant:
            raise IRError("graph input is a constant", tensor=name)
    for t in graph.tensors.values():
        if t.is_constant:
            if t.data.shape != t.shape or str(t.data.dtype) != t.dtype:
                raise IRError(f"constant data {t.data.dtype}{list(t.data.shape)} does not match "
                              f"declared {t.dtype}{list(t.shape)}", tensor=t.name)
            defined.add(t.name)
        _check_quant(t)
    produced: set[str] = set()
    for i, node in enumerate(graph.nodes):
        where = f"{node.name} (#{i})"
        if node.op not in OP_OPTIONS:
            raise UnsupportedOpError(node.op, f"node {where}")
        if not isinstance(node.options, OP_OPTIONS[node.op]):
            raise IRError(f"{node.op} needs {OP_OPTIONS[node.op].__name__}, got {type(node.options).__name__}",
                          node=where)
        for attr in ("activation", "padding"):
            value = getattr(node.options, attr, None)
            allowed = ACTIVATIONS if attr == "activation" else PADDINGS
            if value is not None and value not in allowed:
                raise IRError(f"{attr} {value!r} not one of {allowed}", node=where)
        for name in node.inputs:
            if name is None:
                continue
            if name not in graph.tensors:
                raise IRError("input tensor does not exist", node=where, tensor=name)
            if name not in defined:
                raise IRError("input used before it is produced (nodes not in topological order?)",
                              node=where, tensor=name)
            _check_constant_quant(graph.tensors[name], where)
        for name in node.outputs:
            if name not in graph.tensors:
                raise IRError("output tensor does not exist", node=where, tensor=name)
            if name in produced or name in graph.inputs or graph.tensors[name].is_constant:
                raise IRError("tensor is produced more than once", node=where, tensor=name)
            produced.add(name)
            defined.add(name)
        if node.op in _WEIGHTED:
            _check_bias(graph, node, where)
    for name in graph.outputs:
        if name not in defined:
            raise IRError("graph output is never produced", tensor=name)
        _check_constant_quant(graph.tensors[name], None)
    return graph


def _check_constant_quant(t, where: str | None) -> None:
    """A uint8/int8 constant read by node ``where`` (or a graph output) must carry quantization parameters."""
    if t.is_constant and t.quant is None and t.dtype in ("uint8", "int8"):
        raise IRError(f"{t.dtype} constant has no quantization parameters", node=where, tensor=t.name)


def _check_quant(t) -> None:
    q = t.quant
    if q is None:      # constants: checked where a node reads them (_check_constant_quant names the node)
        if t.dtype in ("uint8", "int8") and not t.is_constant:
            raise IRError(f"{t.dtype} tensor has no quantization parameters", tensor=t.name)
        return
    if not np.all(np.isfinite(q.scale)) or not np.all(q.scale > 0):
        raise IRError(f"scale must be finite and > 0, got {q.scale[:4]}", tensor=t.name)
    if t.dtype in _QUANTIZED:
        info = np.iinfo(t.dtype)
        if np.any(q.zero_point < info.min) or np.any(q.zero_point > info.max):
            raise IRError(f"zero point {q.zero_point[:4]} outside {t.dtype} range", tensor=t.name)
    if q.per_channel:
        if not -len(t.shape) <= q.axis < len(t.shape) or t.shape[q.axis] != q.scale.size:
            raise IRError(f"{q.scale.size} per-channel scales do not match axis {q.axis} of shape "
                          f"{list(t.shape)}", tensor=t.name)
        if q.zero_point.size not in (1, q.scale.size):
            raise IRError("per-channel zero points and scales differ in count", tensor=t.name)


def _check_bias(graph: Graph, node, where: str) -> None:
    if len(node.inputs) < 3 or node.inputs[2] is None:
        return
    x, w, b = (graph.tensor(n) for n in node.inputs[:3])
    if x.quant is None or w.quant is None:
        return
    if b.dtype != "int32" or b.quant is None:
        raise IRError(f"bias must be int32 with quantization parameters, got {b.dtype}", node=where, tensor=b.name)
    if np.any(b.quant.zero_point != 0):
        raise IRError("bias zero point must be 0", node=where, tensor=b.name)
    expected = np.float64(x.quant.scale[0]) * w.quant.scale.astype(np.float64)
    out = graph.tensor(node.outputs[0])
    tol = 0.02 * (out.quant.single_scale if out.quant is not None else 1.0)
    if np.any(np.abs(expected - b.quant.scale.astype(np.float64)) > np.maximum(tol, 1e-6 * expected)):
        raise IRError(f"bias scale {b.quant.scale[:4]} is not input scale x weight scale {expected[:4]}",
                      node=where, tensor=b.name)
