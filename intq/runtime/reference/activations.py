"""Reference LOGISTIC, TANH (LUT; paper fixed point), RELU, RELU6. Imports: numpy, ctypes, intq.ir, intq.scheme.

LOGISTIC / TANH, default = what LiteRT runs (activations.cc Sigmoid/TanhPrepare, ``LUTPopulate``; notes
A.16): a 256-entry table built **at prepare time** in float32, then indexed by the input code, so
inference is integer-only::

    x = s_in * (v - z_in)                                 # float32, v = every input code
    y = 1.f / (1.f + expf(-x))   |   tanhf(x)             # C libm float32 functions
    lut[v] = clamp((int32)(TfLiteRound(y * (1.f / s_out)) + z_out), dtype range)

The table calls the C library's ``expf``/``tanhf`` (through ctypes, as LiteRT's ``std::exp``/``std::tanh``
on float do) so ties land where LiteRT's land; NumPy's float32 ``exp`` is the fallback when libm cannot be
loaded. LOGISTIC requires s_out == 1/256 (TFLite checks it).

Paper-era alternative (``FIXED_POINT_KERNELS``; TFLite 2018 / ``legacy_reference_ops.h``, gemmlowp)::

    (M, ls) = QuantizeMultiplierGreaterThanOne(s_in * 2^27);  radius = CalculateInputRadius(4, ls)
    c = q - z_in;  c <= -radius -> dtype min;  c >= radius -> dtype max
    r = MBQM_GreaterThanOne(c, M, ls)                                   # Q4.27
    logistic: o = RDBPOT(logistic(r), 23)   (256 -> 255), output 1/256, zp dtype_min
    tanh:     o = RDBPOT(tanh(r), 24) + 128 (256 -> 255), output 1/128, zp dtype_min + 128
    int8 = the uint8 code - 128 (intq's extension; the 2018 kernels are uint8 only)

RELU / RELU6 (activations.cc ``ReluPrepare`` + ``QuantizedReluX``, reference ``ReluX``): a requantizing
clamp. (M, shift) = QuantizeMultiplier((double)(float)(s_in / s_out)) (the quotient of two floats is a
float); out = clamp(z_out + MBQM(q - z_in, M, shift), max(qmin, z_out + roundf(0 / s_out)),
RELU: qmax | RELU6: min(qmax, z_out + roundf(6 / s_out))), roundf in float32, ties away from zero.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import dtype_range, per_tensor, require
from intq.runtime.reference.softmax import calculate_input_radius
from intq.scheme import fixedpoint as fp
from intq.scheme import requant
from intq.scheme.qparams import round_half_away

_QUANTIZED = ("uint8", "int8")


def _libm_float_function(name: str):
    """The C library's float32 function ``name`` (expf, tanhf) as a Python callable, or None."""
    path = ctypes.util.find_library("m")
    if path is None:
        return None
    try:
        fn = getattr(ctypes.CDLL(path), name)
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def _apply_float32(name: str, x: np.ndarray) -> np.ndarray:
    """float32 libm ``name`` element-wise on float32 ``x`` (NumPy float32 fallback)."""
    fn = _libm_float_function(name)
    if fn is None:
        return {"expf": np.exp, "tanhf": np.tanh}[name](x.astype(np.float32)).astype(np.float32)
    return np.array([fn(float(v)) for v in x], dtype=np.float32)


def lut_table(op: str, s_in: float, z_in: int, s_out: float, z_out: int, dtype: str) -> np.ndarray:
    """int64[256] indexed by ``code - dtype_min``: LiteRT's ``LUTPopulate`` for LOGISTIC or TANH (float32)."""
    lo, hi = dtype_range(dtype)
    codes = np.arange(lo, hi + 1, dtype=np.int64)
    x = np.float32(s_in) * (codes - z_in).astype(np.float32)                          # float32 product
    if op == "LOGISTIC":
        y = np.float32(1.0) / (np.float32(1.0) + _apply_float32("expf", -x))
    else:
        y = _apply_float32("tanhf", x)
    rescaled = round_half_away(y * (np.float32(1.0) / np.float32(s_out)))          # float32, ties away
    quantized = (rescaled + np.float32(z_out)).astype(np.int64)                     # float add, truncating cast
    return np.clip(quantized, lo, hi)


def _check_unary(graph: Graph, node: Node):
    require(len(node.inputs) == 1 and len(node.outputs) == 1, f"{node.op} takes one input and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    require(x.dtype in _QUANTIZED and out.dtype == x.dtype,
            f"{node.op} supports uint8 or int8 in and out of one dtype, got {x.dtype} -> {out.dtype}",
            graph, node, out.name)
    require(len(out.shape) == len(x.shape) and tuple(out.shape[1:]) == tuple(x.shape[1:]),
            f"{node.op} keeps the shape: {list(x.shape)} -> {list(out.shape)}", graph, node, out.name)
    return x, out, per_tensor(graph, node, x.name), per_tensor(graph, node, out.name)


def prepare_lut(graph: Graph, node: Node) -> dict:
    """LOGISTIC / TANH: the 256-entry table (LiteRT's kernel)."""
    x, out, (s_in, z_in), (s_out, z_out) = _check_unary(graph, node)
    if node.op == "LOGISTIC":
        require(float(np.float32(s_out)) == 1.0 / 256, f"LOGISTIC output scale must be 1/256, got {s_out}",
                graph, node, out.name)
    lo, _ = dtype_range(x.dtype)
    return dict(table=lut_table(node.op, s_in, z_in, s_out, z_out, x.dtype).astype(out.dtype), offset=lo)


def run_lut(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """q: uint8|int8[any] -> table[q - dtype_min], same dtype and shape."""
    return [p["table"][inputs[0].astype(np.int64) - p["offset"]]]


def prepare_fixed_point(graph: Graph, node: Node) -> dict:
    """LOGISTIC / TANH, paper-era gemmlowp path: input multiplier, left shift and radius (Q4.27 input)."""
    x, out, (s_in, z_in), (s_out, z_out) = _check_unary(graph, node)
    lo, hi = dtype_range(x.dtype)
    want = (1.0 / 256, lo) if node.op == "LOGISTIC" else (1.0 / 128, lo + 128)
    require(abs(s_out - want[0]) <= 1e-3 * want[0] and z_out == want[1],
            f"fixed-point {node.op} output must have scale {want[0]} and zero point {want[1]}, got "
            f"({s_out}, {z_out})", graph, node, out.name)
    real = float(s_in) * (1 << (31 - 4))
    require(real > 1.0, f"{node.op} input scale {s_in} too small for the Q4.27 fixed-point path", graph, node, x.name)
    m0, shift = fp.quantize_multiplier(real)
    return dict(op=node.op, m0=m0, shift=shift, radius=calculate_input_radius(4, shift), z_in=z_in,
                lo=lo, hi=hi, dtype=x.dtype)


def run_fixed_point(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """q -> 8-bit probability (LOGISTIC) or tanh code via gemmlowp logistic/tanh on a Q4.27 input."""
    c = inputs[0].astype(np.int64) - p["z_in"]
    r = fp.multiply_by_quantized_multiplier_greater_than_one(np.clip(c, -p["radius"], p["radius"]), p["m0"], p["shift"])
    if p["op"] == "LOGISTIC":
        o = np.asarray(fp.rounding_divide_by_pot(fp.logistic(r, 4), 23), np.int64)
    else:
        o = np.asarray(fp.rounding_divide_by_pot(fp.tanh(r, 4), 24), np.int64) + 128
    o = np.minimum(o, 255)                                               # 256 -> 255
    o = np.where(c <= -p["radius"], 0, np.where(c >= p["radius"], 255, o)) + p["lo"]
    return [o.astype(p["dtype"])]


def _roundf_quantize(f: float, s_out: float, z_out: int) -> int:
    q = float(round_half_away(np.float32(f) / np.float32(s_out)))
    return z_out + int(max(min(q, 2.0 ** 31 - 1), -(2.0 ** 31)))


def prepare_relu(graph: Graph, node: Node) -> dict:
    """RELU / RELU6: requantization (M, shift) from the float32 quotient s_in / s_out and the clamp."""
    x, out, (s_in, z_in), (s_out, z_out) = _check_unary(graph, node)
    # LiteRT's QuantizedReluX casts roundf(6 / s_out) to int32 unchecked: undefined behaviour (INT32_MIN on
    # x86) once it does not fit, so a graph with such a scale has no defined LiteRT result; refuse it as the
    # fused RELU6 of a CONV_2D is refused (requant.activation_bound_overflow).
    bad = requant.activation_bound_overflow(node.op, s_out)
    require(bad is None, f"{node.op}: output scale {s_out:.6g} is too small, the bound {bad} / scale does not fit "
            "int32 (LiteRT's int32 cast of it is undefined)", graph, node, out.name)
    qmin, qmax = dtype_range(x.dtype)
    m0, shift = fp.quantize_multiplier(float(np.float32(s_in) / np.float32(s_out)))
    lo = max(qmin, _roundf_quantize(0.0, s_out, z_out))
    hi = qmax if node.op == "RELU" else min(qmax, _roundf_quantize(6.0, s_out, z_out))
    return dict(m0=m0, shift=shift, z_in=z_in, z_out=z_out, lo=lo, hi=hi, dtype=x.dtype)


def run_relu(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """q -> clamp(z_out + MBQM(q - z_in, M, shift), lo, hi) (reference ``ReluX``)."""
    acc = fp.multiply_by_quantized_multiplier(inputs[0].astype(np.int64) - p["z_in"], p["m0"], p["shift"])
    acc = np.asarray(acc, np.int64) + p["z_out"]
    return [np.clip(np.maximum(acc, p["lo"]), None, p["hi"]).astype(p["dtype"])]


KERNELS = {"LOGISTIC": Kernel(prepare_lut, run_lut), "TANH": Kernel(prepare_lut, run_lut),
           "RELU": Kernel(prepare_relu, run_relu), "RELU6": Kernel(prepare_relu, run_relu)}

#: The paper's fixed-point LOGISTIC / TANH; use as ``Interpreter(g, kernels={**REFERENCE, **FIXED_POINT_KERNELS})``.
FIXED_POINT_KERNELS = {"LOGISTIC": Kernel(prepare_fixed_point, run_fixed_point),
                       "TANH": Kernel(prepare_fixed_point, run_fixed_point)}
