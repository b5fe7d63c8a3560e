"""Fast ADD and MUL. Imports: numpy, intq.runtime.

* Same-shape operands: ``intq_add`` / ``intq_mul`` (csrc/intq_add.c) compute TFLite's ``reference_ops::Add`` /
  ``Mul`` arithmetic per element (the reference's offsets and multipliers, AVX2 32 elements per step), split
  over ``num_threads`` from 8192 elements per thread.
* Broadcasting operands: for fixed quantization parameters the output is a function of the two input codes
  alone (offsets, fixed-point multipliers, clamp per element), so the reference kernel runs once on all 65536
  code pairs (the table equals it by construction; made by the first broadcasting run, :func:`pair_table`, so
  the same-shape ADDs of a model keep no 64 KB table each) and run is one gather per element, broadcasting as
  the reference does (NumPy). ``intq_lut2`` (the same gather in C, for same-shape operands) remains for the
  table kernels' plans.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import ISA_LEVEL, LIB, OP_ADD, OP_LUT2, OP_MUL, aligned, ptr
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import add as ref_add
from intq.runtime.reference import mul as ref_mul

_REF = {"ADD": ref_add.KERNELS["ADD"], "MUL": ref_mul.KERNELS["MUL"]}      # the reference kernels they equal
_CODES = {"uint8": np.arange(256, dtype=np.uint8), "int8": np.arange(-128, 128, dtype=np.int8)}


def _code_table(ref: Kernel, p: dict, dtype: str) -> np.ndarray:
    """table[code1 byte, code2 byte] = the reference's output for the prepared ``p`` (uint8 bytes, flat)."""
    codes = _CODES[dtype]
    (table,) = ref.run(p, [codes[:, None], codes[None, :]], ExecContext())
    order = np.argsort(codes.view(np.uint8))                        # rows/cols indexed by the raw byte
    return np.ascontiguousarray(table[order][:, order]).view(np.uint8).reshape(-1)


def pair_table(p: dict) -> np.ndarray:
    """The 65536-byte code-pair table of an arithmetic ADD / MUL's prepared ``p``, made on the first call and
    kept in ``p`` (one assignment: a concurrent first call keeps whichever table won, both the same bytes)."""
    if "table" not in p:
        p.setdefault("table", _code_table(_REF[p["op"]], p["ref"], p["in_dtype"]))
    return p["table"]


def _lut_kernel(ref: Kernel) -> Kernel:
    def prepare(graph: Graph, node: Node) -> dict:
        """Reference prepare, then the table of every code pair."""
        p = ref.prepare(graph, node)
        return dict(table=_code_table(ref, p, graph.tensor(node.inputs[0]).dtype), dtype=p["dtype"])

    def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
        """Integer-only: out = table[(byte(a) << 8) | byte(b)], broadcasting a against b."""
        a, b = np.asarray(inputs[0]).view(np.uint8), np.asarray(inputs[1]).view(np.uint8)
        if a.shape == b.shape:
            a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
            out = np.empty(a.shape, p["dtype"])
            LIB.intq_lut2(ptr(a), ptr(b), ptr(p["table"]), ptr(out), a.size, ctx.num_threads)
            return [out]
        idx = (a.astype(np.uint16) << 8) | b
        return [p["table"][idx].view(p["dtype"])]

    def plan(p: dict, ins: list, outs: list, num_threads: int):
        """intq_run_plan record of the table gather (same-shape operands only)."""
        if ins[0].shape != ins[1].shape or outs[0].shape != ins[0].shape:
            return None
        return [OP_LUT2, ptr(ins[0]), ptr(ins[1]), ptr(p["table"]), ptr(outs[0]), ins[0].size, num_threads], []

    return Kernel(prepare, run, plan)


def _arith_prepare(op: str):
    ref = _REF[op]

    def prepare(graph: Graph, node: Node) -> dict:
        """The reference prepare once: the C kernel's int32 parameters (and the reference's, for a table)."""
        p = ref.prepare(graph, node)
        if op == "ADD":
            (m1, s1), (m2, s2), (mo, so) = p["multipliers"]
            words = [p["z1"], p["z2"], m1, s1, m2, s2, mo, so, p["z_out"], p["lo"], p["hi"]]
        else:
            words = [p["z1"], p["z2"], p["m0"], p["shift"], p["z_out"], p["lo"], p["hi"]]
        params = aligned(np.array(words + [int(p["dtype"] == "int8")], np.int32))
        return dict(ref=p, in_dtype=graph.tensor(node.inputs[0]).dtype, dtype=p["dtype"], params=params, op=op)
    return prepare


def arith_run_level(p: dict, inputs: list, num_threads: int, level: int) -> np.ndarray:
    """Same-shape ADD or MUL through intq_add / intq_mul at ISA ``level`` (<= ISA_LEVEL)."""
    a, b = (np.ascontiguousarray(x) for x in inputs[:2])
    out = np.empty(a.shape, p["dtype"])
    fn = LIB.intq_add if p["op"] == "ADD" else LIB.intq_mul
    fn(ptr(a), ptr(b), ptr(p["params"]), ptr(out), a.size, int(num_threads), int(min(level, ISA_LEVEL)))
    return out


def _arith_run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """Integer-only ADD / MUL: the C arithmetic for same-shape operands, the table gather when they broadcast."""
    if np.shape(inputs[0]) == np.shape(inputs[1]):
        return [arith_run_level(p, inputs, ctx.num_threads, ISA_LEVEL)]
    pair_table(p)
    return _TABLES[p["op"]].run(p, inputs, ctx)


def _arith_plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of intq_add / intq_mul (same-shape operands only)."""
    if ins[0].shape != ins[1].shape or outs[0].shape != ins[0].shape:
        return None
    return [OP_ADD if p["op"] == "ADD" else OP_MUL, ptr(ins[0]), ptr(ins[1]), ptr(p["params"]), ptr(outs[0]),
            ins[0].size, num_threads, ISA_LEVEL], []


_TABLES = {op: _lut_kernel(ref) for op, ref in _REF.items()}
KERNELS = {op: Kernel(_arith_prepare(op), _arith_run, _arith_plan) for op in ("ADD", "MUL")}
