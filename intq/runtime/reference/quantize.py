"""Reference QUANTIZE (float32 -> uint8/int8, and uint8/int8 requantize) and DEQUANTIZE. Imports: numpy, intq.ir, intq.scheme.

The graph's boundary ops, the only kernels that touch floats at run time (notes A.17):

* float32 -> q (``reference_ops::AffineQuantize``): ``q = clamp(round_half_away(x / scale) + zp)`` with the
  division in float32 and ties away from zero (TfLiteRound). Quotients beyond int32 saturate, as the
  cast does on ARM; TFLite's ``static_cast<int32_t>`` is undefined there and x86 LiteRT returns INT32_MIN,
  so e.g. x = 1e10 at scale 1 gives 255 here but 0 from LiteRT 2.3.0 on x86-64.
* q -> q' requantize (``reference_ops::Requantize``; quantize.cc): ``(M, sh) = QuantizeMultiplier((double)s_in /
  (double)s_out)``, ``q' = clamp(MBQM(q - z_in, M, sh) + z_out)``. The uint8<->int8 ``^ 0x80`` fast path
  gives the same bytes, since MBQM with M = 2^30, sh = 1 is exact.
* q -> float32 (``reference_ops::Dequantize``): ``scale * (q - zp)``, correctly rounded to float32.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import clamp_cast, dtype_range, per_tensor, require
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from intq.scheme.qparams import round_half_away

_INTS = ("uint8", "int8")


def _check_io(graph: Graph, node: Node) -> tuple:
    require(len(node.inputs) == 1 and len(node.outputs) == 1, f"{node.op} takes one input and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    require(tuple(x.shape[1:]) == tuple(out.shape[1:]) and len(x.shape) == len(out.shape),
            f"{node.op} keeps the shape: {list(x.shape)} -> {list(out.shape)}", graph, node, out.name)
    return x, out


def prepare_quantize(graph: Graph, node: Node) -> dict:
    """float32 -> uint8/int8 (scale, zp), or uint8/int8 -> uint8/int8 (multiplier, shift, zero points)."""
    x, out = _check_io(graph, node)
    require(out.dtype in _INTS, f"QUANTIZE output must be uint8 or int8, got {out.dtype}", graph, node, out.name)
    s_out, z_out = per_tensor(graph, node, out.name)
    if x.dtype == "float32":
        return dict(mode="float", scale=np.float32(s_out), z_out=z_out, dtype=out.dtype)
    require(x.dtype in _INTS, f"QUANTIZE input must be float32, uint8 or int8, got {x.dtype}", graph, node, x.name)
    s_in, z_in = per_tensor(graph, node, x.name)
    m0, shift = quantize_multiplier(float(np.float64(s_in) / np.float64(s_out)))
    return dict(mode="requantize", m0=m0, shift=shift, z_in=z_in, z_out=z_out, dtype=out.dtype)


def run_quantize(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """float32 -> q (AffineQuantize) or q -> q' (Requantize); output uint8|int8 of the input's shape."""
    lo, hi = dtype_range(p["dtype"])
    if p["mode"] == "float":
        with np.errstate(over="ignore"):          # |x| / scale beyond float32 is inf, saturated below
            q = round_half_away(inputs[0].astype(np.float32) / p["scale"])    # float32 division, ties away
        q = np.clip(q, -2.0 ** 31, 2.0 ** 31 - 128).astype(np.int64) + p["z_out"]
        return [clamp_cast(q, lo, hi, p["dtype"])]
    x = inputs[0].astype(np.int32) - np.int32(p["z_in"])
    q = multiply_by_quantized_multiplier(x, p["m0"], p["shift"]).astype(np.int64) + p["z_out"]
    return [clamp_cast(q, lo, hi, p["dtype"])]


def prepare_dequantize(graph: Graph, node: Node) -> dict:
    """uint8/int8 -> float32: the input's (scale, zero point)."""
    x, out = _check_io(graph, node)
    require(x.dtype in _INTS, f"DEQUANTIZE input must be uint8 or int8, got {x.dtype}", graph, node, x.name)
    require(out.dtype == "float32", f"DEQUANTIZE output must be float32, got {out.dtype}", graph, node, out.name)
    s_in, z_in = per_tensor(graph, node, x.name)
    return dict(scale=np.float64(np.float32(s_in)), z_in=z_in)


def run_dequantize(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """q -> float32(scale * (q - zp)), the product in double then rounded once, as reference Dequantize."""
    return [(p["scale"] * (inputs[0].astype(np.int32) - p["z_in"])).astype(np.float32)]


KERNELS = {"QUANTIZE": Kernel(prepare_quantize, run_quantize),
           "DEQUANTIZE": Kernel(prepare_dequantize, run_dequantize)}
