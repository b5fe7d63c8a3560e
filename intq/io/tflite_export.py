"""Write an intq Graph as .tflite bytes that LiteRT loads. Imports: intq.ir, intq.io, numpy, flatbuffers, tflite.

Layout (TFLite ``schema.fbs``, version 3, file identifier "TFL3"): one subgraph, no signatures.
Buffer 0 is the empty sentinel and is shared by every non-constant tensor; each constant gets its
own buffer, aligned to 16 bytes as the TFLite converter does. Quantization is written as scale /
zero_point vectors with ``quantized_dimension`` (per-channel axis). Each op is written with the
version TFLite's ``op_version.cc`` gives its type combination (``tflite_schema.OP_VERSIONS``).
"""
from __future__ import annotations

import os
from typing import Callable

import flatbuffers
import numpy as np
import tflite

from intq.errors import IRError, UnsupportedOpError
from intq.io import tflite_schema as S
from intq.io.atomic import atomic_write
from intq.ir import Graph, verify
from intq.ir.ops import Node
from intq.ir.tensor import Tensor

_BUFFER_ALIGNMENT = 16


def save_tflite(graph: Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` to ``path`` as a .tflite file, atomically (see :func:`intq.io.atomic.atomic_write`; a path
    that cannot be written raises :class:`~intq.errors.WriteError`, an OSError, naming it)."""
    if not isinstance(graph, Graph):
        raise TypeError(f"save_tflite takes an intq.Graph, got {type(graph).__name__}")
    atomic_write(path, graph_to_tflite_bytes(graph))


def graph_to_tflite_bytes(graph: Graph) -> bytes:
    """Serialize ``graph`` (verified first: IRError / UnsupportedOpError name the culprit) to .tflite bytes."""
    verify(graph)
    return _serialize(_with_explicit_biases(graph), lambda node: node.op)


def _with_explicit_biases(graph: Graph) -> Graph:
    """LiteRT refuses a quantized CONV_2D / DEPTHWISE_CONV_2D without bias: give such nodes an int32 zero bias
    with scale S_in * S_w (per channel where the weights are) and zero point 0; other graphs pass unchanged."""
    from intq.ir.tensor import Quantization
    missing = [i for i, n in enumerate(graph.nodes) if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D")
               and (len(n.inputs) < 3 or n.inputs[2] is None) and graph.tensor(n.inputs[0]).quant is not None]
    if not missing:
        return graph
    graph = graph.copy()
    for i in missing:
        node = graph.nodes[i]
        x, w = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
        channels = graph.tensor(node.outputs[0]).shape[-1]
        scale = np.float64(x.quant.scale[0]) * w.quant.scale.astype(np.float64)
        quant = Quantization(scale.astype(np.float32), np.zeros(scale.size, np.int64), 0)
        name = graph.add_constant(graph.unique_name(f"{node.name}/zero_bias"), np.zeros(channels, np.int32), quant)
        node.inputs = (node.inputs[0], node.inputs[1], name)
    return graph


def _serialize(graph: Graph, code_name: Callable[[Node], str]) -> bytes:
    """Build the flatbuffer; ``code_name(node)`` is the builtin op name written for each node.

    Tests pass a ``code_name`` that writes an op intq lacks, to check the importer's errors.
    """
    b = flatbuffers.Builder(1024 + sum(t.data.nbytes for t in graph.tensors.values() if t.is_constant))
    names = list(graph.tensors)
    index = {name: i for i, name in enumerate(names)}

    buffers = [_buffer(b, None)]
    tensor_offsets = []
    for name in names:
        t = graph.tensors[name]
        buffer_index = 0
        if t.is_constant:
            buffer_index = len(buffers)
            buffers.append(_buffer(b, np.ascontiguousarray(t.data).tobytes()))
        tensor_offsets.append(_tensor(b, t, buffer_index))

    codes: dict[tuple[str, int], int] = {}
    op_offsets = []
    for i, node in enumerate(graph.nodes):
        key = (code_name(node), _version(graph, node))
        if key[0] not in S.BUILTIN_NAME2CODE:
            raise UnsupportedOpError(key[0], f"node {node.name} (#{i})", "no TFLite builtin code")
        opcode_index = codes.setdefault(key, len(codes))
        op_offsets.append(_operator(b, node, opcode_index, index))
    code_offsets = [_operator_code(b, name, version) for name, version in codes]

    tensors_vec = _offset_vector(b, tflite.SubGraphStartTensorsVector, tensor_offsets)
    inputs_vec = b.CreateNumpyVector(np.array([index[n] for n in graph.inputs], np.int32))
    outputs_vec = b.CreateNumpyVector(np.array([index[n] for n in graph.outputs], np.int32))
    ops_vec = _offset_vector(b, tflite.SubGraphStartOperatorsVector, op_offsets)
    sg_name = b.CreateString(graph.name)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, inputs_vec)
    tflite.SubGraphAddOutputs(b, outputs_vec)
    tflite.SubGraphAddOperators(b, ops_vec)
    tflite.SubGraphAddName(b, sg_name)
    subgraph = tflite.SubGraphEnd(b)

    subgraphs_vec = _offset_vector(b, tflite.ModelStartSubgraphsVector, [subgraph])
    codes_vec = _offset_vector(b, tflite.ModelStartOperatorCodesVector, code_offsets)
    buffers_vec = _offset_vector(b, tflite.ModelStartBuffersVector, buffers)
    description = b.CreateString("intq")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, S.SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(b, codes_vec)
    tflite.ModelAddSubgraphs(b, subgraphs_vec)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers_vec)
    model = tflite.ModelEnd(b)
    b.Finish(model, file_identifier=S.FILE_IDENTIFIER)
    return bytes(b.Output())


def _offset_vector(b: flatbuffers.Builder, start: Callable, offsets: list[int]) -> int:
    start(b, len(offsets))
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _bytes_vector(b: flatbuffers.Builder, data: bytes) -> int:
    """A ubyte vector whose payload starts on a 16-byte boundary (LiteRT reads constants in place)."""
    b.StartVector(1, len(data), _BUFFER_ALIGNMENT)
    b.head = flatbuffers.number_types.UOffsetTFlags.py_type(b.Head() - len(data))
    b.Bytes[b.Head():b.Head() + len(data)] = data
    return b.EndVector()


def _buffer(b: flatbuffers.Builder, data: bytes | None) -> int:
    data_vec = _bytes_vector(b, data) if data else None
    tflite.BufferStart(b)
    if data_vec is not None:
        tflite.BufferAddData(b, data_vec)
    return tflite.BufferEnd(b)


def _tensor(b: flatbuffers.Builder, t: Tensor, buffer_index: int) -> int:
    if t.dtype not in S.DTYPE_TO_TFLITE:
        raise IRError(f"dtype {t.dtype} cannot be written to .tflite", tensor=t.name)
    name = b.CreateString(t.name)
    shape = b.CreateNumpyVector(np.array(t.shape, np.int32))
    quant = _quantization(b, t) if t.quant is not None else None
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, S.DTYPE_TO_TFLITE[t.dtype])
    tflite.TensorAddBuffer(b, buffer_index)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    return tflite.TensorEnd(b)


def _quantization(b: flatbuffers.Builder, t: Tensor) -> int:
    q = t.quant
    scale = b.CreateNumpyVector(q.scale.astype(np.float32))
    zero_point = b.CreateNumpyVector(q.zero_point.astype(np.int64))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    axis = q.axis + len(t.shape) if q.axis < 0 else q.axis
    tflite.QuantizationParametersAddQuantizedDimension(b, axis)
    return tflite.QuantizationParametersEnd(b)


def _version(graph: Graph, node: Node) -> int:
    """Op version: the uint8 one unless an input or output of the node is int8 (TFLite op_version.cc)."""
    uint8_version, int8_version = S.OP_VERSIONS[node.op]
    names = [n for n in node.inputs + node.outputs if n is not None]
    return int8_version if any(graph.tensors[n].dtype == "int8" for n in names) else uint8_version


def _operator_code(b: flatbuffers.Builder, name: str, version: int) -> int:
    code = S.BUILTIN_NAME2CODE[name]
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))   # int8 field; 127 = "see builtin_code"
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddVersion(b, version)
    return tflite.OperatorCodeEnd(b)


def _operator(b: flatbuffers.Builder, node: Node, opcode_index: int, index: dict[str, int]) -> int:
    inputs = b.CreateNumpyVector(np.array([-1 if n is None else index[n] for n in node.inputs], np.int32))
    outputs = b.CreateNumpyVector(np.array([index[n] for n in node.outputs], np.int32))
    table, fields = S.OPTION_TABLES.get(node.op, (None, ()))
    options = _options(b, table, fields, node.options) if table is not None else None
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, opcode_index)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, table))
        tflite.OperatorAddBuiltinOptions(b, options)
    return tflite.OperatorEnd(b)


def _options(b: flatbuffers.Builder, table: str, fields, options) -> int:
    vectors = {}
    for attr, field, kind in fields:          # vectors are built before the table starts
        value = getattr(options, attr)
        if kind == S.IVEC and value is not None:
            vectors[field] = b.CreateNumpyVector(np.array(value, np.int32))
    getattr(tflite, f"{table}Start")(b)
    for attr, field, kind in fields:
        value = getattr(options, attr)
        add = getattr(tflite, f"{table}Add{field}")
        if kind == S.IVEC:
            if field in vectors:
                add(b, vectors[field])
        elif kind == S.ACT:
            add(b, S.ACTIVATION_TO_TFLITE[value])
        elif kind == S.PAD:
            add(b, S.PADDING_TO_TFLITE[value])
        elif kind == S.TYPE:
            add(b, S.DTYPE_TO_TFLITE[value])
        elif kind == S.BOOL:
            add(b, bool(value))
        elif kind == S.FLOAT:
            add(b, float(value))
        else:
            add(b, int(value))
    return getattr(tflite, f"{table}End")(b)
