"""Operators of the integer graph and their attributes, named as TFLite's builtin ops. Imports: stdlib.

A :class:`Node` holds the op name, input and output tensor names (``None`` for an absent optional
input, e.g. a conv without bias), and one frozen options dataclass. Constant operands that TFLite
passes as tensors (PAD paddings, MEAN axes, SPLIT axis, RESHAPE shape, RESIZE size, ARG_MAX axis) stay
tensors here too, so the graph maps one-to-one onto a .tflite file.

Input order per op (as TFLite):
  CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED: (input, filter, bias | None)
  ADD, MUL: (a, b)                    CONCATENATION: (x0, x1, ...)      SPLIT: (axis, input)
  MEAN: (input, axes)                 RESHAPE: (input, shape | None)    PAD: (input, paddings int32[n,2])
  RESIZE_BILINEAR: (input, size int32[2])   ARG_MAX: (input, axis)       TRANSPOSE: (input, perm int32[n])
  others: (input,)
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6")
PADDINGS = ("SAME", "VALID")


@dataclass(frozen=True)
class NoOptions:
    pass


@dataclass(frozen=True)
class Conv2DOptions:
    padding: str = "SAME"
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    activation: str = "NONE"


@dataclass(frozen=True)
class DepthwiseConv2DOptions:
    padding: str = "SAME"
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    depth_multiplier: int = 1
    activation: str = "NONE"


@dataclass(frozen=True)
class FullyConnectedOptions:
    activation: str = "NONE"
    keep_num_dims: bool = False


@dataclass(frozen=True)
class ActivationOptions:
    """ADD and MUL: only a fused activation."""
    activation: str = "NONE"


@dataclass(frozen=True)
class ConcatenationOptions:
    axis: int = -1
    activation: str = "NONE"


@dataclass(frozen=True)
class SplitOptions:
    num_splits: int = 2


@dataclass(frozen=True)
class Pool2DOptions:
    padding: str = "VALID"
    stride_h: int = 1
    stride_w: int = 1
    filter_h: int = 1
    filter_w: int = 1
    activation: str = "NONE"


@dataclass(frozen=True)
class ReducerOptions:
    keep_dims: bool = False


@dataclass(frozen=True)
class ReshapeOptions:
    new_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SqueezeOptions:
    squeeze_dims: tuple[int, ...] = ()


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float = 1.0


@dataclass(frozen=True)
class ResizeBilinearOptions:
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(frozen=True)
class ArgMaxOptions:
    output_type: str = "int32"


OP_OPTIONS = MappingProxyType({
    "CONV_2D": Conv2DOptions,
    "DEPTHWISE_CONV_2D": DepthwiseConv2DOptions,
    "FULLY_CONNECTED": FullyConnectedOptions,
    "ADD": ActivationOptions,
    "MUL": ActivationOptions,
    "CONCATENATION": ConcatenationOptions,
    "SPLIT": SplitOptions,
    "AVERAGE_POOL_2D": Pool2DOptions,
    "MAX_POOL_2D": Pool2DOptions,
    "MEAN": ReducerOptions,
    "RESHAPE": ReshapeOptions,
    "SQUEEZE": SqueezeOptions,
    "PAD": NoOptions,
    "SOFTMAX": SoftmaxOptions,
    "LOGISTIC": NoOptions,
    "TANH": NoOptions,
    "RELU": NoOptions,
    "RELU6": NoOptions,
    "RESIZE_BILINEAR": ResizeBilinearOptions,
    "ARG_MAX": ArgMaxOptions,
    "TRANSPOSE": NoOptions,
    "QUANTIZE": NoOptions,
    "DEQUANTIZE": NoOptions,
})


def options_for(op: str, **kwargs):
    """The options dataclass of ``op`` built from keyword arguments (defaults for the rest)."""
    return OP_OPTIONS[op](**kwargs)


@dataclass
class Node:
    """One operator application. ``name`` identifies it in errors; ``index`` is its position in the graph."""

    op: str
    inputs: tuple[str | None, ...]
    outputs: tuple[str, ...]
    options: object = NoOptions()
    name: str = ""

    def __post_init__(self):
        self.inputs = tuple(self.inputs)
        self.outputs = tuple(self.outputs)
        if not self.name:
            self.name = f"{self.op.lower()}:{self.outputs[0] if self.outputs else '?'}"
