"""Fast ADD and MUL as 256x256 lookup tables built from the reference kernel. Imports: numpy, intq.runtime.

For fixed quantization parameters, TFLite's quantized ADD/MUL output is a function of the two input codes
alone (``reference_ops::Add``/``Mul``: offsets, fixed-point multipliers, clamp per element). Prepare runs the
reference kernel once on all 65536 code pairs, so the table equals it by construction; run is one gather
per element: ``intq_lut2`` in C when both operands have one shape (split over ``num_threads`` from 8192
elements per thread), NumPy (broadcasting as the reference does) otherwise.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import LIB, OP_LUT2, ptr
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import add as ref_add
from intq.runtime.reference import mul as ref_mul

_CODES = {"uint8": np.arange(256, dtype=np.uint8), "int8": np.arange(-128, 128, dtype=np.int8)}


def _lut_kernel(ref: Kernel) -> Kernel:
    def prepare(graph: Graph, node: Node) -> dict:
        """Reference prepare, then table[code1 byte, code2 byte] = reference output (uint8 bytes)."""
        p = ref.prepare(graph, node)
        dtype = graph.tensor(node.inputs[0]).dtype
        codes = _CODES[dtype]
        (table,) = ref.run(p, [codes[:, None], codes[None, :]], ExecContext())
        order = np.argsort(codes.view(np.uint8))                    # rows/cols indexed by the raw byte
        return dict(table=np.ascontiguousarray(table[order][:, order]).view(np.uint8).reshape(-1),
                    dtype=p["dtype"])

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


KERNELS = {"ADD": _lut_kernel(ref_add.KERNELS["ADD"]), "MUL": _lut_kernel(ref_mul.KERNELS["MUL"])}
