"""Fast SOFTMAX: the reference's fixed-point exp looked up from a 256-entry table. Imports: numpy, intq.

TFLite ``reference_ops::Softmax`` (uint8/int8) needs ``exp_on_negative_values`` of the scaled difference
d = q - max(q), and d takes only the 256 values -255..0. Prepare evaluates the reference's exact integer
functions once for every d (exp in Q0.31 and its Rescale<12> term, zero where d < diff_min); run gathers
from those tables and finishes with the same intq.scheme.fixedpoint calls as runtime/reference/softmax.py.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import softmax as ref
from intq.runtime.reference.common import dtype_range
from intq.scheme.fixedpoint import (exp_on_negative_values, get_reciprocal,
                                    multiply_by_quantized_multiplier_greater_than_one, rounding_divide_by_pot,
                                    saturating_rounding_doubling_high_mul, wrap32)


def prepare(graph: Graph, node: Node) -> dict:
    """Reference prepare, then exp and sum-term tables indexed by -d (d = q - max, -255..0)."""
    p = ref.prepare(graph, node)
    d = -np.arange(256, dtype=np.int64)
    keep = d >= p["diff_min"]
    scaled = multiply_by_quantized_multiplier_greater_than_one(d, p["m0"], p["shift"])
    exps = np.asarray(exp_on_negative_values(scaled, ref.SCALED_DIFF_INTEGER_BITS), np.int64)
    terms = np.where(keep, np.asarray(rounding_divide_by_pot(exps, ref.ACCUMULATION_INTEGER_BITS), np.int64), 0)
    return dict(p, exps=exps, terms=terms, keep=keep)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: uint8|int8[..., depth] -> probabilities in the same dtype (scale 1/256), equal to the reference."""
    x = inputs[0]
    lo, hi = dtype_range(p["dtype"])
    rows = x.reshape(-1, x.shape[-1]).astype(np.int64)
    neg = rows.max(axis=1, keepdims=True) - rows                               # -d in 0..255
    exps, keep = p["exps"][neg], p["keep"][neg]
    sum_of_exps = wrap32(p["terms"][neg].sum(axis=1))
    inv, bits_over_unit = get_reciprocal(sum_of_exps, ref.ACCUMULATION_INTEGER_BITS)
    exponent = np.asarray(bits_over_unit, np.int64) + 31 - 8
    prob = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(inv[:, None], exps),
                                  np.minimum(exponent, 31)[:, None])
    prob = np.where((exponent > 31)[:, None], 0, np.asarray(prob, np.int64))
    out = np.where(keep, np.clip(prob + lo, lo, hi), lo)
    return [out.astype(p["dtype"]).reshape(x.shape)]


KERNELS = {"SOFTMAX": Kernel(prepare, run)}
