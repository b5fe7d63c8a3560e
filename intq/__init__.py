"""intq: integer-arithmetic-only neural network inference and quantization-aware training.

Jacob et al., "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
Inference" (CVPR 2018), bit-exact with TensorFlow Lite's reference uint8/int8 kernels.

Data flow: float model -> intq.qat (fake quant) -> intq.conversion -> intq.ir.Graph -> intq.runtime
(reference and fast kernels) / intq.io (.tflite) -> intq.cli. This module only re-exports.
"""
from __future__ import annotations

from intq import errors, fixedpoint
from intq.ir import Graph
from intq.runtime import Interpreter
from intq.scheme import QParams, choose_qparams, dequantize, quantize

__version__ = "0.1.0"

__all__ = ["errors", "fixedpoint", "Graph", "Interpreter", "QParams", "choose_qparams", "quantize",
           "dequantize", "load_tflite", "save_tflite", "QatConfig", "prepare_qat", "calibrate", "convert"]


def load_tflite(path) -> Graph:
    """Read a uint8/int8 .tflite file into an intq Graph (see intq.io.tflite_import)."""
    from intq.io.tflite_import import load_tflite as _load
    return _load(path)


def save_tflite(graph: Graph, path) -> None:
    """Write a Graph as a .tflite file LiteRT loads, atomically (see intq.io.tflite_export)."""
    from intq.io.tflite_export import save_tflite as _save
    _save(graph, path)


def __getattr__(name):
    # Training needs torch; import it only when a training name is asked for.
    if name in ("QatConfig", "prepare_qat", "calibrate"):
        from intq import qat
        return getattr(qat, name)
    if name == "convert":
        from intq.conversion import convert
        return convert
    raise AttributeError(f"module 'intq' has no attribute {name!r}")
