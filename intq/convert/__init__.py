"""intq.convert: a prepared/trained (or calibrated) torch model -> intq.Graph, uint8 inside. Imports: torch, intq.

``convert(model)`` puts ``model`` in eval mode, reads ranges from its quantizers and folded, quantized
weights from its fused layers, and returns a verified Graph: float32 NCHW input -> QUANTIZE -> TRANSPOSE ->
NHWC uint8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / ADD / CONCATENATION / pools / MEAN / RESHAPE ->
DEQUANTIZE -> float32 output (NCHW when 4-D).

Importing this package makes Python bind ``intq.convert`` to the *package*, shadowing the lazy
``intq.convert`` function of intq/__init__.py; the package is therefore callable and ``intq.convert(model)``
works either way.
"""
from __future__ import annotations

import sys
import types

import torch

from intq.ir import Graph


def convert(model: torch.nn.Module) -> Graph:
    """The integer graph of a module from intq.prepare_qat or intq.calibrate (see intq.convert.lower)."""
    from intq.convert.lower import lower
    return lower(model)


class _CallablePackage(types.ModuleType):
    def __call__(self, model: torch.nn.Module) -> Graph:
        return convert(model)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = ["convert"]
