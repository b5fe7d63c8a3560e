"""Layer 5, model files: .tflite import/export, atomic writes. Imports: intq.ir, numpy, tflite, flatbuffers.

``load_tflite(path)`` / ``load_tflite_bytes(data)`` read a uint8/int8 TFLite model into an
:class:`intq.ir.Graph`; ``save_tflite(graph, path)`` / ``graph_to_tflite_bytes(graph)`` write one that
LiteRT loads and runs bit-exactly like intq. Malformed files raise :class:`intq.errors.ModelFileError`,
ops intq lacks :class:`intq.errors.UnsupportedOpError`.
"""
from __future__ import annotations

from intq.io.atomic import atomic_write
from intq.io.tflite_export import graph_to_tflite_bytes, save_tflite
from intq.io.tflite_import import load_tflite, load_tflite_bytes

__all__ = ["atomic_write", "graph_to_tflite_bytes", "save_tflite", "load_tflite", "load_tflite_bytes"]
