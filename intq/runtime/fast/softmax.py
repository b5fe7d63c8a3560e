"""Fast SOFTMAX: tabled fixed-point exp, per-row sum and reciprocal in C (csrc/intq_softmax.c). Imports: numpy, intq.

TFLite ``reference_ops::Softmax`` (uint8/int8) needs ``exp_on_negative_values`` of the scaled difference
d = q - max(q), and d takes only the 256 values -255..0. Prepare evaluates the reference's exact integer
functions once for every d with intq.scheme.fixedpoint (exp in Q0.31, its Rescale<12> term, zero where
d < diff_min); run calls ``intq_softmax``, which per row sums the terms (int32, wrapping), takes gemmlowp's
GetReciprocal (a scalar C port of ``fixedpoint.get_reciprocal``, tested against it) and writes
clamp(RDBPOT(SRDHM(inv, e), bits_over_unit + 23) + q_min), as runtime/reference/softmax.py does: the row's
256 possible outputs in a table, then one byte gather (AVX2 ``vpshufb`` at ISA level 1 and up).
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import ISA_LEVEL, LIB, OP_SOFTMAX, ptr
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import softmax as ref
from intq.scheme.fixedpoint import (exp_on_negative_values, multiply_by_quantized_multiplier_greater_than_one,
                                    rounding_divide_by_pot)


def prepare(graph: Graph, node: Node) -> dict:
    """Reference prepare, then exp / sum-term / keep tables (int32, int32, uint8) indexed by -d (0..255)."""
    p = ref.prepare(graph, node)
    d = -np.arange(256, dtype=np.int64)
    keep = d >= p["diff_min"]
    scaled = multiply_by_quantized_multiplier_greater_than_one(d, p["m0"], p["shift"])
    exps = np.asarray(exp_on_negative_values(scaled, ref.SCALED_DIFF_INTEGER_BITS), np.int64)
    terms = np.where(keep, np.asarray(rounding_divide_by_pot(exps, ref.ACCUMULATION_INTEGER_BITS), np.int64), 0)
    q = dict(p, exps=exps.astype(np.int32), terms=terms.astype(np.int32), keep=keep.astype(np.uint8))
    q["consts"] = (ptr(q["exps"]), ptr(q["terms"]), ptr(q["keep"]))          # q keeps the arrays alive
    q["in_int8"] = int(p["dtype"] == "int8")
    return q


def run_threads(p: dict, x: np.ndarray, num_threads: int, level: int = ISA_LEVEL) -> np.ndarray:
    """The kernel with its rows over up to ``num_threads`` threads at ISA ``level`` (<= ISA_LEVEL; tests run
    every level, 1 and 2 threads)."""
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape, p["dtype"])
    depth = x.shape[-1] if x.ndim else 1
    rows = x.size // depth if depth else 0
    LIB.intq_softmax(ptr(x), ptr(out), rows, depth, p["in_int8"], *p["consts"], num_threads,
                     min(int(level), ISA_LEVEL))
    return out


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """x: uint8|int8[..., depth] -> probabilities in the same dtype (scale 1/256), equal to the reference."""
    return [run_threads(p, inputs[0], ctx.num_threads)]


def plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this softmax on fixed buffers."""
    x = ins[0]
    depth = x.shape[-1] if x.ndim else 1
    rows = x.size // depth if depth else 0
    return [OP_SOFTMAX, ptr(x), ptr(outs[0]), rows, depth, p["in_int8"], *p["consts"], num_threads, ISA_LEVEL], []


KERNELS = {"SOFTMAX": Kernel(prepare, run, plan)}
