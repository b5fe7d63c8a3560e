"""Reference MEAN over constant axes, uint8 and int8, bit-exact with LiteRT. Imports: numpy, intq.ir, intq.scheme.

TFLite ``reference_ops::QuantizedMeanOrSum`` (reduce.h; prep in reduce.cc ``PrepareMeanOrSum``), which
both the reference and the default resolver run except for the optimized 4-D (1, 2)-axes case (notes A.14):

    (M, sh) = QuantizeMultiplier((double)s_in / (double)s_out)            # prepare
    sum[o] = sum of q_in over the reduced axes (int32);  N = number of reduced elements
    s = min(floor(log2 N), 32, 31 + sh);  M' = (int64(M) << s) / N (truncating);  sh' = sh - s
    q_out = clamp(MBQM(sum - z_in * N, M', sh') + z_out, dtype range)

No fused activation. The divisor N depends on the run-time shape when the batch axis is reduced, so
M' is derived at run time, with integer arithmetic only.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import clamp_cast, dtype_range, per_tensor, require
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, wrap32
from intq.scheme.requant import mean_multiplier


def prepare(graph: Graph, node: Node) -> dict:
    """Resolved axes, output multiplier (M, sh) and zero points."""
    require(len(node.inputs) == 2 and len(node.outputs) == 1 and node.inputs[1] is not None,
            "MEAN takes (input, axes) and one output", graph, node)
    x, axes_t, out = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    require(x.dtype in ("uint8", "int8") and out.dtype == x.dtype,
            f"MEAN supports uint8/int8 in and out of one dtype, got {x.dtype} -> {out.dtype}", graph, node, x.name)
    require(axes_t.is_constant and axes_t.dtype in ("int32", "int64"), "MEAN axes must be a constant int32 tensor",
            graph, node, axes_t.name)
    rank = len(x.shape)
    raw = [int(a) for a in axes_t.data.reshape(-1)]
    require(all(-rank <= a < rank for a in raw), f"MEAN axes {raw} out of range for rank {rank}",
            graph, node, axes_t.name)
    axes = tuple(sorted({a % rank for a in raw}))                     # TFLite ResolveAxis: wrap, dedupe
    keep = node.options.keep_dims
    expect = [1 if i in axes else d for i, d in enumerate(x.shape)] if keep else \
        [d for i, d in enumerate(x.shape) if i not in axes]
    require(list(out.shape[1:]) == expect[1:] and len(out.shape) == len(expect),
            f"MEAN output {list(out.shape)} should be {expect}", graph, node, out.name)
    s_in, z_in = per_tensor(graph, node, x.name)
    s_out, z_out = per_tensor(graph, node, out.name)
    m0, shift = quantize_multiplier(float(np.float64(s_in) / np.float64(s_out)))
    return dict(axes=axes, keep=keep, z_in=z_in, z_out=z_out, m0=m0, shift=shift, dtype=out.dtype)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x uint8|int8 -> mean over ``axes`` (kept as size 1 with keep_dims), same dtype."""
    x = inputs[0]
    axes = p["axes"]
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = wrap32(x.astype(np.int64).sum(axis=axes, keepdims=p["keep"]))   # int32 accumulator
    if n == 0:
        return [np.zeros(total.shape, p["dtype"])]
    m0, shift = mean_multiplier(p["m0"], p["shift"], n)
    shifted = wrap32(total - p["z_in"] * n)
    out = multiply_by_quantized_multiplier(shifted, m0, shift).astype(np.int64) + p["z_out"]
    lo, hi = dtype_range(p["dtype"])
    return [clamp_cast(out, lo, hi, p["dtype"])]


KERNELS = {"MEAN": Kernel(prepare, run)}
