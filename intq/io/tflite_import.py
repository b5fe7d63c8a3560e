"""Read a uint8/int8 .tflite model (subgraph 0) into an intq Graph. Imports: intq.ir, intq.io, numpy, tflite.

Tensors keep their shape, dtype, quantization (per-channel ``quantized_dimension`` as the axis) and,
for constants, their buffer data; builtin options become intq.ir options dataclasses; an optional
input written as -1 becomes ``None``. Anything that is not a readable model raises
:class:`~intq.errors.ModelFileError`; an op intq lacks raises :class:`~intq.errors.UnsupportedOpError`
naming the op and its operator index. A tensor of more than MAX_ELEMENTS elements (a corrupt shape) is a
ModelFileError too. No input makes this crash the process.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import tflite

from intq.errors import IntqError, ModelFileError, UnsupportedOpError
from intq.io import tflite_schema as S
from intq.ir import Graph, Quantization
from intq.ir.ops import OP_OPTIONS

_MIN_SIZE = 8   # root offset (4) + file identifier (4)
#: the most elements a tensor of a model file may have (2**31: a 2 GiB uint8 tensor; TFLite files are < 2 GB and
#: real models' tensors far smaller, so a larger shape is a corrupt one)
MAX_ELEMENTS = 2 ** 31


def load_tflite(path: str | os.PathLike) -> Graph:
    """Read the .tflite file at ``path`` into a Graph (ModelFileError if it is missing or unreadable)."""
    if os.fspath(path) in ("", b""):
        raise ModelFileError("''", "the path is empty")
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(str(path), "no such file") from None
    except OSError as e:
        raise ModelFileError(str(path), f"cannot read: {e.strerror or e}") from None
    return load_tflite_bytes(data, name=str(path))


def load_tflite_bytes(data: bytes, name: str = "<bytes>") -> Graph:
    """Parse .tflite bytes into a Graph; ``name`` is used in error messages."""
    data = bytes(data)
    if len(data) < _MIN_SIZE:
        raise ModelFileError(name, f"too short for a .tflite file ({len(data)} bytes)")
    if data[4:8] != S.FILE_IDENTIFIER:
        raise ModelFileError(name, f"not a .tflite file (identifier {data[4:8]!r}, expected b'TFL3')")
    try:
        return _Reader(data, name).graph()
    except IntqError:
        raise
    except Exception as e:   # corrupt flatbuffers fail in many ways (struct.error, IndexError, ValueError...)
        raise ModelFileError(name, f"corrupt or truncated model ({type(e).__name__}: {e})") from None


class _Reader:
    """One parse of a model; methods raise ModelFileError naming the tensor/operator at fault."""

    def __init__(self, data: bytes, name: str):
        self.data, self.name = data, name
        root = int.from_bytes(data[:4], "little")
        if not _MIN_SIZE <= root < len(data):
            raise ModelFileError(name, f"root table offset {root} outside the file ({len(data)} bytes)")
        self.model = tflite.Model.GetRootAs(data, 0)

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(self.name, message)

    def graph(self) -> Graph:
        m = self.model
        if m.SubgraphsLength() < 1:
            raise self.fail("model has no subgraph")
        sg = m.Subgraphs(0)
        g = Graph(name=_text(sg.Name()) or Path(self.name).stem)
        for i in range(m.BuffersLength()):     # touch every buffer table: a cut-off file fails here
            buf = m.Buffers(i)
            buf.Offset(), buf.Size(), buf.DataLength()
        tensor_names = [self.tensor(g, sg.Tensors(i), i) for i in range(sg.TensorsLength())]

        def lookup(i: int, what: str) -> str | None:
            if i == -1:
                return None
            if not 0 <= i < len(tensor_names):
                raise self.fail(f"{what} refers to tensor {i}, but the subgraph has {len(tensor_names)}")
            return tensor_names[i]

        g.inputs = [lookup(int(i), "subgraph input") for i in _ints(sg.InputsAsNumpy())]
        g.outputs = [lookup(int(i), "subgraph output") for i in _ints(sg.OutputsAsNumpy())]
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            op_name = self.op_name(op.OpcodeIndex(), k)
            options = self.options(op, op_name, k)
            inputs = [lookup(int(i), f"operator #{k} ({op_name}) input") for i in _ints(op.InputsAsNumpy())]
            outputs = [lookup(int(i), f"operator #{k} ({op_name}) output") for i in _ints(op.OutputsAsNumpy())]
            if None in outputs:
                raise self.fail(f"operator #{k} ({op_name}) has an absent output")
            g.add_node(op_name, inputs, outputs, options)
        return g

    def tensor(self, g: Graph, t, i: int) -> str:
        name = _text(t.Name()) or f"tensor_{i}"
        name = g.unique_name(name)
        ttype = t.Type()
        if ttype not in S.TFLITE_TO_DTYPE:
            raise self.fail(f"tensor {name!r} (#{i}) has unsupported type "
                            f"{S.TENSOR_TYPE_NAMES.get(ttype, ttype)}")
        dtype = S.TFLITE_TO_DTYPE[ttype]
        shape = tuple(int(d) for d in _ints(t.ShapeAsNumpy()))
        if any(d < 0 for d in shape):
            raise self.fail(f"tensor {name!r} (#{i}) has negative dimension in shape {list(shape)}")
        if math.prod(shape) > MAX_ELEMENTS:
            raise self.fail(f"tensor {name!r} (#{i}) of shape {list(shape)} has {math.prod(shape):,} elements, more "
                            f"than the {MAX_ELEMENTS:,} intq reads (a corrupt shape?)")
        data = self.buffer(t.Buffer(), name, i, dtype, shape)
        g.add_tensor(name, shape, dtype, self.quantization(t, name, shape), data)
        return name

    def buffer(self, index: int, name: str, i: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray | None:
        m = self.model
        if index == 0:
            return None
        if not 0 <= index < m.BuffersLength():
            raise self.fail(f"tensor {name!r} (#{i}) refers to buffer {index}, but the model has "
                            f"{m.BuffersLength()}")
        buf = m.Buffers(index)
        if buf.Offset() > 1:                      # large models keep data after the flatbuffer
            start, size = buf.Offset(), buf.Size()
            if start + size > len(self.data):
                raise self.fail(f"tensor {name!r} (#{i}): buffer {index} lies outside the file")
            raw = self.data[start:start + size]
        elif buf.DataLength() == 0:
            return None
        else:
            raw = buf.DataAsNumpy().tobytes()
        np_dtype = np.dtype(np.bool_ if dtype == "bool" else dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if len(raw) != count * np_dtype.itemsize:
            raise self.fail(f"tensor {name!r} (#{i}) of shape {list(shape)} {dtype} has {len(raw)} bytes "
                            f"of data, expected {count * np_dtype.itemsize}")
        return np.frombuffer(raw, dtype=np_dtype.newbyteorder("<")).astype(np_dtype).reshape(shape)

    def quantization(self, t, name: str, shape: tuple[int, ...]) -> Quantization | None:
        q = t.Quantization()
        if q is None or q.ScaleLength() == 0:
            return None
        scale = np.asarray(q.ScaleAsNumpy(), np.float32)
        zero_point = np.asarray(q.ZeroPointAsNumpy(), np.int64) if q.ZeroPointLength() else np.zeros(1, np.int64)
        if zero_point.size not in (1, scale.size):
            raise self.fail(f"tensor {name!r}: {scale.size} scales but {zero_point.size} zero points")
        axis = int(q.QuantizedDimension())
        if scale.size > 1 and not 0 <= axis < len(shape):
            raise self.fail(f"tensor {name!r}: quantized_dimension {axis} outside shape {list(shape)}")
        if scale.size > 1 and zero_point.size == 1:
            zero_point = np.full(scale.size, zero_point[0], np.int64)
        return Quantization(scale, zero_point, axis)

    def op_name(self, opcode_index: int, k: int) -> str:
        m = self.model
        if not 0 <= opcode_index < m.OperatorCodesLength():
            raise self.fail(f"operator #{k} has opcode index {opcode_index}, but the model has "
                            f"{m.OperatorCodesLength()} operator codes")
        oc = m.OperatorCodes(opcode_index)
        code = max(int(oc.DeprecatedBuiltinCode()), int(oc.BuiltinCode()))
        name = S.BUILTIN_OPCODE2NAME.get(code, f"BUILTIN_{code}")
        if name == "CUSTOM":
            name = f"CUSTOM:{_text(oc.CustomCode())}"
        if name not in OP_OPTIONS:
            raise UnsupportedOpError(name, f"operator #{k}", "intq has no such op")
        return name

    def options(self, op, op_name: str, k: int):
        cls = OP_OPTIONS[op_name]
        table, fields = S.OPTION_TABLES[op_name]
        if table is None or not fields:
            return cls()
        if op.BuiltinOptionsType() != getattr(tflite.BuiltinOptions, table) or op.BuiltinOptions() is None:
            if op_name in ("RESHAPE", "SQUEEZE"):       # options are optional for these
                return cls()
            raise self.fail(f"operator #{k} ({op_name}) lacks its {table}")
        raw = op.BuiltinOptions()
        obj = getattr(tflite, table)()
        obj.Init(raw.Bytes, raw.Pos)
        values = {}
        for attr, field, kind in fields:
            if kind == S.IVEC:
                is_none = getattr(obj, f"{field}IsNone")()
                values[attr] = None if is_none else tuple(int(v) for v in _ints(getattr(obj, f"{field}AsNumpy")()))
                continue
            raw_value = getattr(obj, field)()
            values[attr] = self.decode(kind, raw_value, op_name, k, field)
        if op_name == "SQUEEZE" and values["squeeze_dims"] is None:
            values["squeeze_dims"] = ()
        return cls(**values)

    def decode(self, kind: str, value, op_name: str, k: int, field: str):
        tables = {S.ACT: S.TFLITE_TO_ACTIVATION, S.PAD: S.TFLITE_TO_PADDING, S.TYPE: S.TFLITE_TO_DTYPE}
        if kind in tables:
            if value not in tables[kind]:
                raise UnsupportedOpError(op_name, f"operator #{k}", f"{field} value {value} is not supported")
            return tables[kind][value]
        if kind == S.BOOL:
            return bool(value)
        if kind == S.FLOAT:
            return float(value)
        return int(value)


def _text(raw) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def _ints(arr) -> np.ndarray:
    """The generated accessors return 0 for an absent vector; treat that as empty."""
    return np.zeros(0, np.int64) if isinstance(arr, int) else np.asarray(arr)
