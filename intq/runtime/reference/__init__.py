"""Reference kernels: the spec, one module per op, bit-exact with LiteRT's reference kernels.

Imports: intq.ir, intq.scheme, numpy. Never intq.runtime.fast. Each module exports
``KERNELS: dict[str, Kernel]`` for the op(s) it implements; this package merges them.
"""
from __future__ import annotations

from types import MappingProxyType

from intq.runtime.reference import (activations, add, arg_max, concatenation, conv, depthwise_conv,
                                    fully_connected, mean, mul, pad, pooling, quantize, reshape,
                                    resize_bilinear, softmax, split, transpose)

_MODULES = (conv, depthwise_conv, fully_connected, pooling, mean, quantize, add, mul, concatenation, split,
            reshape, pad, softmax, activations, resize_bilinear, arg_max, transpose)

KERNELS = MappingProxyType({op: k for m in _MODULES for op, k in m.KERNELS.items()})
