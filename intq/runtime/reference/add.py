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
from intq.errors import IRError
from intq.runtime.reference.common import activation_range, binary_operands, clamp_cast, node_where
from intq.scheme.requant import add_multipliers, add_rescaled

def prepare(graph: Graph, node: Node) -> dict:
    """Offsets, the three multipliers (computed in double from float32 scales) and the clamp range."""
    dtype, (s1, z1), (s2, z2), (s_out, z_out) = binary_operands(graph, node)
    try:
        multipliers = add_multipliers(s1, s2, s_out)
    except ValueError as e:
        raise IRError(str(e), node=node_where(graph, node)) from None
    lo, hi = activation_range(node.options.activation, s_out, z_out, dtype, graph=graph, node=node)
    return dict(z1=z1, z2=z2, z_out=z_out, multipliers=multipliers, lo=lo, hi=hi, dtype=dtype)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """a, b uint8|int8 (broadcasting) -> same dtype."""
    a = inputs[0].astype(np.int64) - p["z1"]
    b = inputs[1].astype(np.int64) - p["z2"]
    out = add_rescaled(a, b, p["multipliers"]) + p["z_out"]
    return [clamp_cast(out, p["lo"], p["hi"], p["dtype"])]


KERNELS = {"ADD": Kernel(prepare, run)}
