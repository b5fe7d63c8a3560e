"""Fast kernels: same ops and results as runtime/reference, compiled. Imports: intq.runtime.reference, numpy.

``KERNELS`` maps op -> Kernel for the ops with a fast version (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
compiled; ADD and MUL in C arithmetic, as code-pair tables when broadcasting; SOFTMAX with a tabled exp;
CONCATENATION as byte copies and tables; RESIZE_BILINEAR in C on the reference's precomputed axes;
AVERAGE_POOL_2D and MAX_POOL_2D in C; MEAN tabled, summed in C; TRANSPOSE, PAD, QUANTIZE, DEQUANTIZE and SPLIT
in C (csrc/intq_layout.c), requantize and dequantize as 256-entry tables; LOGISTIC, TANH, RELU, RELU6 as
256-entry tables; ARG_MAX of uint8/int8/int32/float32 in C); every other op uses the reference kernel
(intq.runtime.kernels merges the sets). The compiled ones also have a ``plan`` for the one-call executor
(intq.runtime.fast.plan).
Importing raises ImportError when the C library (csrc/intq_fast.c, built by setup.py) is absent, which makes
``kernels="fast"`` mean the reference set.
"""
from __future__ import annotations

from types import MappingProxyType

from intq.runtime.fast._lib import ISA_LEVEL, ISA_NAMES
from intq.runtime.fast.activations import KERNELS as _ACTIVATIONS
from intq.runtime.fast.arg_max import KERNELS as _ARG_MAX
from intq.runtime.fast.concatenation import KERNELS as _CONCAT
from intq.runtime.fast.conv import KERNELS as _CONV
from intq.runtime.fast.depthwise_conv import KERNELS as _DW
from intq.runtime.fast.elementwise import KERNELS as _ELEMENTWISE
from intq.runtime.fast.fully_connected import KERNELS as _FC
from intq.runtime.fast.layout import KERNELS as _LAYOUT
from intq.runtime.fast.pooling import KERNELS as _POOL
from intq.runtime.fast.resize_bilinear import KERNELS as _RESIZE
from intq.runtime.fast.softmax import KERNELS as _SOFTMAX

KERNELS = MappingProxyType({**_CONV, **_DW, **_FC, **_ELEMENTWISE, **_SOFTMAX, **_POOL, **_CONCAT,
                             **_RESIZE, **_LAYOUT, **_ACTIVATIONS, **_ARG_MAX})
ISA = ISA_NAMES[ISA_LEVEL]

__all__ = ["KERNELS", "ISA", "ISA_LEVEL"]
