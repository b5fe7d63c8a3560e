"""Reference ADD, uint8 and int8 with broadcasting, bit-exact with LiteRT. Imports: numpy, intq.ir, intq.scheme.

TFLite ``reference_ops::Add`` / ``reference_integer_ops::Add`` (add.cc Prepare, notes A.11). Both inputs
are brought to the common scale 2*max(s1, s2) / 2^20 before an int32 add:

    left_shift = 20;  twice_max = 2 * max(s1, s2)
    (M1, sh1) = QuantizeMultiplierSmallerThanOneExp(s1 / twice_max)      # <= 1/2
    (M2, sh2) = QuantizeMultiplierSmallerThanOneExp(s2 / twice_max)
    (Mo, sho) = QuantizeMultiplierSmallerThanOneExp(twice_max / (2^20 * s_out))   # must be < 1
    a = MBQM((q1 - z1) << 20, M1, sh1);  b = MBQM((q2 - z2) << 20, M2, sh2)
    q_out = clamp(MBQM(a + b, Mo, sho) + z_out, act_min, act_max)

|q - z| <= 255 so (q - z) << 20 < 2^28 never overflows. Broadcasting follows NumPy (BroadcastAdd6DSlow
does the same arithmetic per element).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import activation_range, binary_operands, clamp_cast, require
from intq.scheme.fixedpoint import multiply_by_quantized_multiplier_smaller_than_one_exp, quantize_multiplier

LEFT_SHIFT = 20


def _smaller_than_one(real: float, graph: Graph, node: Node, what: str) -> tuple[int, int]:
    """TFLite QuantizeMultiplierSmallerThanOneExp: 0 < real < 1 -> (M0, shift <= 0)."""
    require(0.0 < real < 1.0, f"{what} multiplier {real} must be in (0, 1) (output scale too small?)", graph, node)
    return quantize_multiplier(real)


def prepare(graph: Graph, node: Node) -> dict:
    """Offsets, the three multipliers (computed in double from float32 scales) and the clamp range."""
    dtype, (s1, z1), (s2, z2), (s_out, z_out) = binary_operands(graph, node)
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))                # exact in float32
    m1 = _smaller_than_one(float(np.float32(s1)) / twice_max, graph, node, "input 1")
    m2 = _smaller_than_one(float(np.float32(s2)) / twice_max, graph, node, "input 2")
    mo = _smaller_than_one(twice_max / float(np.float32(1 << LEFT_SHIFT) * np.float32(s_out)), graph, node, "output")
    lo, hi = activation_range(node.options.activation, s_out, z_out, dtype)
    return dict(z1=z1, z2=z2, z_out=z_out, m1=m1, m2=m2, mo=mo, lo=lo, hi=hi, dtype=dtype)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """a, b uint8|int8 (broadcasting) -> same dtype."""
    a = (inputs[0].astype(np.int64) - p["z1"]) << LEFT_SHIFT
    b = (inputs[1].astype(np.int64) - p["z2"]) << LEFT_SHIFT
    a = multiply_by_quantized_multiplier_smaller_than_one_exp(a, *p["m1"])
    b = multiply_by_quantized_multiplier_smaller_than_one_exp(b, *p["m2"])
    raw_sum = a.astype(np.int64) + b                                            # |.| < 2^29: no overflow
    out = multiply_by_quantized_multiplier_smaller_than_one_exp(raw_sum, *p["mo"]).astype(np.int64) + p["z_out"]
    return [clamp_cast(out, p["lo"], p["hi"], p["dtype"])]


KERNELS = {"ADD": Kernel(prepare, run)}
