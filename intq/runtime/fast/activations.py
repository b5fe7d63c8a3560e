"""Fast LOGISTIC, TANH, RELU and RELU6: 256-entry tables, equal to runtime/reference. Imports: numpy, intq.

On uint8/int8 (the only dtypes the reference kernels take, one dtype in and out) each op's output is a
function of the input byte, so prepare evaluates the reference kernel on all 256 codes and run is one table
gather (``intq_lut1``, the plan's OP_LUT1): exact by construction, whichever formula the reference uses
(LiteRT's float32 ``LUTPopulate`` for LOGISTIC / TANH, the requantizing clamp for RELU / RELU6).
"""
from __future__ import annotations

import numpy as np

from intq.runtime.fast._lib import ISA_LEVEL
from intq.runtime.fast.layout import byte_table, gather_plan, gather_run
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import activations as ref


def _table_kernel(ref_kernel: Kernel) -> Kernel:
    """A Kernel gathering from the table of ``ref_kernel``'s output for each input byte."""

    def prepare(graph, node) -> dict:
        p = ref_kernel.prepare(graph, node)
        return dict(table=byte_table(ref_kernel.run, p, graph.tensor(node.inputs[0]).dtype))

    def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
        return [gather_run(inputs[0], p["table"], ISA_LEVEL, ctx.num_threads)]

    def plan(p: dict, ins: list, outs: list, num_threads: int):
        return gather_plan(ins[0], outs[0], p["table"], num_threads)

    return Kernel(prepare, run, plan)


KERNELS = {op: _table_kernel(ref.KERNELS[op]) for op in ("LOGISTIC", "TANH", "RELU", "RELU6")}
