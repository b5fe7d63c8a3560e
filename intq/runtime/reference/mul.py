"""Reference MUL, uint8 and int8 with broadcasting, bit-exact with LiteRT. Imports: numpy, intq.ir, intq.scheme.

TFLite ``reference_ops::Mul`` / ``reference_integer_ops::Mul`` (``MulElementwise``; mul.cc Prepare):

    (M0, shift) = QuantizeMultiplier(s1 * s2 / s_out)       # the product and quotient in float32, as mul.cc
    q_out = clamp(MBQM((q1 - z1) * (q2 - z2), M0, shift) + z_out, act_min, act_max)

|q1 - z1| * |q2 - z2| <= 255^2 fits int32 easily. Broadcasting follows NumPy.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import activation_range, binary_operands, clamp_cast, require_left_shift
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier


def prepare(graph: Graph, node: Node) -> dict:
    """Offsets, the output multiplier (float32 s1*s2/s_out widened to double) and the clamp range."""
    dtype, (s1, z1), (s2, z2), (s_out, z_out) = binary_operands(graph, node)
    real = float(np.float32(s1) * np.float32(s2) / np.float32(s_out))         # float32 arithmetic (mul.cc)
    m0, shift = quantize_multiplier(real)
    require_left_shift(shift, f"S1 * S2 / S_out = {real:.6g}", graph, node, node.outputs[0])
    lo, hi = activation_range(node.options.activation, s_out, z_out, dtype, graph=graph, node=node)
    return dict(z1=z1, z2=z2, z_out=z_out, m0=m0, shift=shift, lo=lo, hi=hi, dtype=dtype)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """a, b uint8|int8 (broadcasting) -> same dtype."""
    prod = (inputs[0].astype(np.int32) - np.int32(p["z1"])) * (inputs[1].astype(np.int32) - np.int32(p["z2"]))
    out = multiply_by_quantized_multiplier(prod, p["m0"], p["shift"]).astype(np.int64) + p["z_out"]
    return [clamp_cast(out, p["lo"], p["hi"], p["dtype"])]


KERNELS = {"MUL": Kernel(prepare, run)}
