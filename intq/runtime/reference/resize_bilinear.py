"""Reference RESIZE_BILINEAR, uint8 (float32, as LiteRT) and int8 (integer). Imports: numpy, intq.ir.

LiteRT's BUILTIN_REF resolver (resize_bilinear.cc, kReference) runs two different kernels:

* uint8: ``reference_ops::ResizeBilinear<uint8_t>`` -- **in float32** (an oracle quirk, isolated in
  :func:`run_float32`; the coordinates and weights are precomputed at prepare time, only the weighted
  sum of the four neighbours is float at run time)::

      scale = (float)in / out   (align_corners: (float)(in - 1) / (out - 1))
      src = (y + 0.5f) * scale - 0.5f  (half_pixel_centers)  |  y * scale
      y0 = max(floor(src), 0);  y1 = min(ceil(src), in - 1);  dy = src - y0   (same for x)
      out = (uint8)(q00*(1-dy)*(1-dx) + q10*dy*(1-dx) + q01*(1-dy)*dx + q11*dy*dx + 0.5f)   # truncation

* int8 (and intq's integer-only option for uint8, ``INTEGER_KERNELS``):
  ``reference_ops::ResizeBilinearInteger`` in 10-bit fixed point::

      scale_10 = (1024 * in + out / 2) / out   (align_corners: (1024*(in-1) + (out-1)/2) / (out-1))
      src_10 = y * scale_10 + scale_10 / 2 - 512  (half_pixel_centers)  |  y * scale_10
      y0 = max(src_10 / 1024, 0);  y1 = min((src_10 + 1023) / 1024, in - 1)   # C division (toward 0)
      acc = sum q_ij * wy_i * wx_j  (wy_1 = src_10 - 1024*y0, wy_0 = 1024 - wy_1)   # int64, 2^20 = 1.0
      out = (acc + (acc > 0 ? 2^19 : -2^19)) / 2^20                            # ties away from zero

Both need half_pixel_centers and align_corners not both set. Output and input share quantization
(the kernels copy codes). The output size comes from the constant int32 size tensor [2] = (h, w).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import require
from intq.runtime.reference.shape_helpers import constant_ints, require_same_quant


def _cdiv(a, b: int):
    """C integer division (truncates toward zero) of an int64 array by a positive int."""
    a = np.asarray(a, np.int64)
    return np.where(a >= 0, a // b, -((-a) // b))


def float_axis(in_size: int, out_size: int, align_corners: bool, half_pixel: bool):
    """(lower int64[out], upper int64[out], frac float32[out]) of ``ComputeInterpolationValues`` in float32."""
    scale = np.float32(in_size) / np.float32(out_size)
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    v = np.arange(out_size, dtype=np.float32)
    src = (v + np.float32(0.5)) * scale - np.float32(0.5) if half_pixel else v * scale
    lower = np.maximum(np.floor(src).astype(np.int64), 0)
    upper = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
    return lower, upper, (src - lower.astype(np.float32)).astype(np.float32)


def integer_axis(in_size: int, out_size: int, align_corners: bool, half_pixel: bool):
    """(lower, upper, weight of upper in 1/1024) of ``ComputeInterpolationValuesInteger``, all int64[out]."""
    scale_10 = ((1 << 10) * in_size + out_size // 2) // out_size
    if align_corners and out_size > 1:
        scale_10 = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    v = np.arange(out_size, dtype=np.int64)
    src = v * scale_10 + scale_10 // 2 - (1 << 9) if half_pixel else v * scale_10
    lower = np.maximum(_cdiv(src, 1 << 10), 0)
    upper = np.minimum(_cdiv(src + (1 << 10) - 1, 1 << 10), in_size - 1)
    return lower, upper, src - (1 << 10) * lower


def _prepare(graph: Graph, node: Node, integer: bool) -> dict:
    require(len(node.inputs) == 2 and len(node.outputs) == 1, "RESIZE_BILINEAR takes (input, size) and one output",
            graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    require(x.dtype in ("uint8", "int8"), f"RESIZE_BILINEAR supports uint8 and int8, got {x.dtype}",
            graph, node, x.name)
    require(len(x.shape) == 4, f"RESIZE_BILINEAR needs a 4-D NHWC input, got {list(x.shape)}", graph, node, x.name)
    size = constant_ints(graph, node, node.inputs[1], "size").reshape(-1)
    require(size.size == 2 and bool(np.all(size > 0)), f"RESIZE_BILINEAR size must be 2 positive ints, got "
            f"{size.tolist()}", graph, node, node.inputs[1])
    opts = node.options
    require(not (opts.align_corners and opts.half_pixel_centers),
            "RESIZE_BILINEAR: if half_pixel_centers is True, align_corners must be False", graph, node)
    oh, ow = int(size[0]), int(size[1])
    expect = [x.shape[0], oh, ow, x.shape[3]]
    require(len(out.shape) == 4 and list(out.shape[1:]) == expect[1:],
            f"RESIZE_BILINEAR output {list(out.shape)} should be {expect}", graph, node, out.name)
    require_same_quant(graph, node, x.name, out.name)
    axis = integer_axis if integer or x.dtype != "uint8" else float_axis
    return dict(y=axis(x.shape[1], oh, opts.align_corners, opts.half_pixel_centers),
                x=axis(x.shape[2], ow, opts.align_corners, opts.half_pixel_centers), dtype=x.dtype)


def prepare(graph: Graph, node: Node) -> dict:
    """LiteRT's choice: float32 weights for uint8, 10-bit integer weights for int8."""
    return _prepare(graph, node, integer=False)


def prepare_integer(graph: Graph, node: Node) -> dict:
    """Integer-only for both dtypes (``ResizeBilinearInteger``)."""
    return _prepare(graph, node, integer=True)


def _gather(q, y, x):
    (y0, y1, _), (x0, x1, _) = y, x
    rows0, rows1 = q[:, y0], q[:, y1]                                    # [N, out_h, W, C]
    return rows0[:, :, x0], rows1[:, :, x0], rows0[:, :, x1], rows1[:, :, x1]   # q00, q10, q01, q11


def run_float32(p: dict, q: np.ndarray) -> np.ndarray:
    """uint8[N,H,W,C] -> uint8[N,oh,ow,C], LiteRT's float32 expression evaluated left to right."""
    q00, q10, q01, q11 = (a.astype(np.float32) for a in _gather(q, p["y"], p["x"]))
    one = np.float32(1.0)
    dy = p["y"][2][None, :, None, None]
    dx = p["x"][2][None, None, :, None]
    acc = q00 * (one - dy) * (one - dx)
    acc = acc + q10 * dy * (one - dx)
    acc = acc + q01 * (one - dy) * dx
    acc = acc + q11 * dy * dx
    return (acc + np.float32(0.5)).astype(np.int64).astype(np.uint8)      # C cast truncates


def run_integer(p: dict, q: np.ndarray) -> np.ndarray:
    """uint8|int8[N,H,W,C] -> same dtype [N,oh,ow,C], 10-bit weights, int64 accumulation."""
    q00, q10, q01, q11 = (a.astype(np.int64) for a in _gather(q, p["y"], p["x"]))
    wy1 = p["y"][2][None, :, None, None]
    wx1 = p["x"][2][None, None, :, None]
    wy0, wx0 = (1 << 10) - wy1, (1 << 10) - wx1
    acc = q00 * wy0 * wx0 + q10 * wy1 * wx0 + q01 * wy0 * wx1 + q11 * wy1 * wx1
    rounded = _cdiv(acc + np.where(acc > 0, 1 << 19, -(1 << 19)), 1 << 20)
    return rounded.astype(p["dtype"])


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """(x, size) -> resized x."""
    q = inputs[0]
    integer = p["y"][2].dtype == np.int64
    return [run_integer(p, q) if integer else run_float32(p, q)]


KERNELS = {"RESIZE_BILINEAR": Kernel(prepare, run)}

#: Integer-only RESIZE_BILINEAR for uint8 too (not byte-equal to LiteRT's uint8 float kernel).
INTEGER_KERNELS = {"RESIZE_BILINEAR": Kernel(prepare_integer, run)}
