"""Reference SOFTMAX on the last axis, uint8 and int8: gemmlowp fixed point. Imports: numpy, intq.ir, intq.scheme.

LiteRT's BUILTIN_REF resolver runs ``reference_ops::Softmax<InputT, OutputT>`` (reference/softmax.h) for
both uint8 and int8 (activations.cc ``SoftmaxQuantized``, kReference); the default resolver uses a float
table instead and is not byte-equal (notes A.15). Prepare (``PreprocessSoftmaxScaling``, in double)::

    (M_b, left_shift) = QuantizeMultiplierGreaterThanOne(min(beta * s_in * 2^(31-5), 2^31 - 1))
    diff_min = -CalculateInputRadius(5, left_shift) = -floor(31 * 2^26 / 2^left_shift)

Per row (int32 / gemmlowp fixed point; Q5.26 scaled differences, Q12.19 accumulator)::

    d = q - max(q);  keep = d >= diff_min
    e = exp_on_negative_values(MBQM_GreaterThanOne(d, M_b, left_shift), 5)        # Q0.31
    sum = sum over kept of RDBPOT(e, 12)                                           # Rescale<12>, wrapping add
    (inv, nbu) = GetReciprocal(sum, 12);  k = nbu + 31 - 8
    out = clamp(RDBPOT(SRDHM(inv, e), k) + dtype_min, dtype range) if keep else dtype_min

LiteRT ``TFLITE_CHECK``s 0 <= k <= 31 and aborts the process when a row's sum of exps reaches 512 (k = 32,
e.g. 1000 near-equal logits). There every probability is <= 1/512, i.e. <= 1/2 output LSB, and intq writes
the rounded value 0 (code dtype_min) instead of aborting; the value an RDBPOT by k >= 32 would give.

The output is probabilities with scale 1/256 and zero point 0 (uint8) or -128 (int8); the kernel writes
those codes whatever the output tensor says, so prepare requires them (TFLite checks int8 only).
"""
from __future__ import annotations

import math

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference.common import dtype_range, per_tensor, require
from intq.scheme.fixedpoint import (exp_on_negative_values, get_reciprocal,
                                    multiply_by_quantized_multiplier_greater_than_one, quantize_multiplier,
                                    rounding_divide_by_pot, saturating_rounding_doubling_high_mul, wrap32)

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


def calculate_input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite ``CalculateInputRadius``: floor((2^I - 1) * 2^(total - I) / 2^left_shift), in double."""
    return int(math.floor(1.0 * ((1 << integer_bits) - 1) * (1 << (total_signed_bits - integer_bits))
                          / (1 << left_shift)))


def softmax_scaling(beta: float, s_in: float) -> tuple[int, int, int]:
    """(M_b, left_shift, diff_min) of TFLite's ``PreprocessSoftmaxScaling`` (double rounding build)."""
    real = min(float(beta) * float(s_in) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    if not real > 1.0:
        raise ValueError(f"beta * input scale * 2^26 = {real} must exceed 1 (QuantizeMultiplierGreaterThanOne)")
    m0, shift = quantize_multiplier(real)
    return m0, shift, -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, shift)


def prepare(graph: Graph, node: Node) -> dict:
    """Beta multiplier, left shift, diff_min and the output dtype."""
    require(len(node.inputs) == 1 and len(node.outputs) == 1, "SOFTMAX takes one input and one output", graph, node)
    x, out = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    require(x.dtype in ("uint8", "int8") and out.dtype == x.dtype,
            f"SOFTMAX supports uint8 or int8 in and out of one dtype, got {x.dtype} -> {out.dtype}",
            graph, node, out.name)
    require(len(x.shape) >= 1 and tuple(out.shape[1:]) == tuple(x.shape[1:]) and len(out.shape) == len(x.shape),
            f"SOFTMAX keeps the shape: {list(x.shape)} -> {list(out.shape)}", graph, node, out.name)
    s_in, _ = per_tensor(graph, node, x.name)
    s_out, z_out = per_tensor(graph, node, out.name)
    qmin, _ = dtype_range(out.dtype)
    require(abs(s_out - 1.0 / 256) <= 0.001 / 256 and z_out == qmin,
            f"SOFTMAX output must have scale 1/256 and zero point {qmin}, got ({s_out}, {z_out})",
            graph, node, out.name)
    beta = float(node.options.beta)
    require(math.isfinite(beta) and beta > 0, f"SOFTMAX beta must be finite and > 0, got {beta}", graph, node)
    m0, shift, diff_min = softmax_scaling(beta, s_in)
    return dict(m0=m0, shift=shift, diff_min=diff_min, dtype=out.dtype)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: uint8|int8[..., depth] -> probabilities in the same dtype (scale 1/256)."""
    x = inputs[0]
    lo, hi = dtype_range(p["dtype"])
    rows = x.reshape(-1, x.shape[-1]).astype(np.int64)                       # [outer, depth]
    diff = rows - rows.max(axis=1, keepdims=True)
    keep = diff >= p["diff_min"]
    scaled = multiply_by_quantized_multiplier_greater_than_one(diff, p["m0"], p["shift"])     # Q5.26
    exps = np.asarray(exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS), np.int64)    # Q0.31
    terms = np.where(keep, np.asarray(rounding_divide_by_pot(exps, ACCUMULATION_INTEGER_BITS), np.int64), 0)
    sum_of_exps = wrap32(terms.sum(axis=1))                                    # Q12.19, int32 wrapping adds
    inv, bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    exponent = np.asarray(bits_over_unit, np.int64) + 31 - 8                   # 8 output bits, >= 23
    too_flat = exponent > 31                      # sum >= 512: LiteRT aborts; every p <= 1/512 rounds to 0
    prob = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(inv[:, None], exps),
                                  np.minimum(exponent, 31)[:, None])
    prob = np.where(too_flat[:, None], 0, np.asarray(prob, np.int64))
    out = np.where(keep, np.clip(prob + lo, lo, hi), lo)
    return [out.astype(p["dtype"]).reshape(x.shape)]


KERNELS = {"SOFTMAX": Kernel(prepare, run)}
