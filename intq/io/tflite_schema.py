"""Maps between intq IR names and the TFLite flatbuffer schema (op codes, dtypes, options). Imports: tflite.

Shared by :mod:`intq.io.tflite_import` and :mod:`intq.io.tflite_export`. Every table here is an
immutable mapping; the ``tflite`` PyPI package supplies the generated schema accessors and builders
(TFLite ``schema.fbs``).
"""
from __future__ import annotations

from types import MappingProxyType

import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3

BUILTIN_NAME2CODE = MappingProxyType({name: code for code, name in BUILTIN_OPCODE2NAME.items()})

# schema TensorType <-> IR dtype names (only those intq tensors may have)
DTYPE_TO_TFLITE = MappingProxyType({
    "float32": tflite.TensorType.FLOAT32, "int32": tflite.TensorType.INT32, "uint8": tflite.TensorType.UINT8,
    "int64": tflite.TensorType.INT64, "bool": tflite.TensorType.BOOL, "int16": tflite.TensorType.INT16,
    "int8": tflite.TensorType.INT8,
})
TFLITE_TO_DTYPE = MappingProxyType({v: k for k, v in DTYPE_TO_TFLITE.items()})
TENSOR_TYPE_NAMES = MappingProxyType({v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")})

ACTIVATION_TO_TFLITE = MappingProxyType({
    "NONE": tflite.ActivationFunctionType.NONE, "RELU": tflite.ActivationFunctionType.RELU,
    "RELU_N1_TO_1": tflite.ActivationFunctionType.RELU_N1_TO_1, "RELU6": tflite.ActivationFunctionType.RELU6,
})
TFLITE_TO_ACTIVATION = MappingProxyType({v: k for k, v in ACTIVATION_TO_TFLITE.items()})
PADDING_TO_TFLITE = MappingProxyType({"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID})
TFLITE_TO_PADDING = MappingProxyType({v: k for k, v in PADDING_TO_TFLITE.items()})

# Field kinds: how an IR option value is written to / read from the flatbuffer field.
INT, BOOL, FLOAT, ACT, PAD, TYPE, IVEC = "int", "bool", "float", "act", "pad", "type", "ivec"

# op -> (options table name in schema.fbs | None, ((IR field, schema field, kind), ...))
OPTION_TABLES = MappingProxyType({
    "CONV_2D": ("Conv2DOptions", (("padding", "Padding", PAD), ("stride_w", "StrideW", INT),
                                  ("stride_h", "StrideH", INT), ("activation", "FusedActivationFunction", ACT),
                                  ("dilation_w", "DilationWFactor", INT), ("dilation_h", "DilationHFactor", INT))),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", (
        ("padding", "Padding", PAD), ("stride_w", "StrideW", INT), ("stride_h", "StrideH", INT),
        ("depth_multiplier", "DepthMultiplier", INT), ("activation", "FusedActivationFunction", ACT),
        ("dilation_w", "DilationWFactor", INT), ("dilation_h", "DilationHFactor", INT))),
    "FULLY_CONNECTED": ("FullyConnectedOptions", (("activation", "FusedActivationFunction", ACT),
                                                  ("keep_num_dims", "KeepNumDims", BOOL))),
    "ADD": ("AddOptions", (("activation", "FusedActivationFunction", ACT),)),
    "MUL": ("MulOptions", (("activation", "FusedActivationFunction", ACT),)),
    "CONCATENATION": ("ConcatenationOptions", (("axis", "Axis", INT),
                                               ("activation", "FusedActivationFunction", ACT))),
    "SPLIT": ("SplitOptions", (("num_splits", "NumSplits", INT),)),
    "AVERAGE_POOL_2D": ("Pool2DOptions", (
        ("padding", "Padding", PAD), ("stride_w", "StrideW", INT), ("stride_h", "StrideH", INT),
        ("filter_w", "FilterWidth", INT), ("filter_h", "FilterHeight", INT),
        ("activation", "FusedActivationFunction", ACT))),
    "MEAN": ("ReducerOptions", (("keep_dims", "KeepDims", BOOL),)),
    "RESHAPE": ("ReshapeOptions", (("new_shape", "NewShape", IVEC),)),
    "SQUEEZE": ("SqueezeOptions", (("squeeze_dims", "SqueezeDims", IVEC),)),
    "PAD": ("PadOptions", ()),
    "SOFTMAX": ("SoftmaxOptions", (("beta", "Beta", FLOAT),)),
    "LOGISTIC": (None, ()),
    "TANH": (None, ()),
    "RELU": (None, ()),
    "RELU6": (None, ()),
    "RESIZE_BILINEAR": ("ResizeBilinearOptions", (("align_corners", "AlignCorners", BOOL),
                                                  ("half_pixel_centers", "HalfPixelCenters", BOOL))),
    "ARG_MAX": ("ArgMaxOptions", (("output_type", "OutputType", TYPE),)),
    "TRANSPOSE": ("TransposeOptions", ()),
    "QUANTIZE": ("QuantizeOptions", ()),
    "DEQUANTIZE": ("DequantizeOptions", ()),
})
OPTION_TABLES = MappingProxyType({**OPTION_TABLES, "MAX_POOL_2D": OPTION_TABLES["AVERAGE_POOL_2D"]})

# op -> (version written for uint8 graphs, version written for int8 graphs). The version selects the
# registration in LiteRT's op resolver; the kernels themselves dispatch on tensor types. Values follow
# TFLite's op_version.cc for these type combinations (uint8 ops are version 1 as in the paper's models).
OP_VERSIONS = MappingProxyType({
    "CONV_2D": (1, 3), "DEPTHWISE_CONV_2D": (1, 3), "FULLY_CONNECTED": (1, 4), "ADD": (1, 2), "MUL": (1, 2),
    "CONCATENATION": (1, 2), "SPLIT": (1, 2), "AVERAGE_POOL_2D": (1, 2), "MAX_POOL_2D": (1, 2),
    "MEAN": (1, 2), "RESHAPE": (1, 1), "SQUEEZE": (1, 1), "PAD": (1, 2), "SOFTMAX": (1, 2),
    "LOGISTIC": (1, 2), "TANH": (1, 2), "RELU": (2, 2), "RELU6": (2, 2), "RESIZE_BILINEAR": (1, 2),
    "ARG_MAX": (1, 2), "TRANSPOSE": (1, 2), "QUANTIZE": (1, 2), "DEQUANTIZE": (1, 2),
})
