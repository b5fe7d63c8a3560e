"""intq.conversion: a prepared/trained (or calibrated) torch model -> intq.Graph, uint8 inside. Imports: torch, intq.

``convert(model)`` (also ``intq.convert``) puts ``model`` in eval mode, reads ranges from its quantizers and
folded, quantized weights from its fused layers, and returns a verified Graph: float32 NCHW input ->
QUANTIZE -> TRANSPOSE -> NHWC uint8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / ADD / CONCATENATION /
pools / MEAN / RESHAPE -> DEQUANTIZE -> float32 output (NCHW when 4-D).
"""
from __future__ import annotations

import torch

from intq.ir import Graph


def convert(model: torch.nn.Module) -> Graph:
    """The integer graph of a module from intq.prepare_qat or intq.calibrate (see intq.conversion.lower)."""
    from intq.conversion.lower import lower
    return lower(model)


__all__ = ["convert"]
