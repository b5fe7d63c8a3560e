"""Fast LOGISTIC, TANH, RELU and RELU6: 256-entry tables, equal to runtime/reference. Imports: numpy, intq.

On uint8/int8 (the only dtypes the reference kernels take, one dtype in and out) each op's output is a
function of the input byte, so prepare evaluates the reference kernel on all 256 codes and run is one table
gather (``intq_lut1``, the plan's OP_LUT1): exact by construction, whichever formula the reference uses
(LiteRT's float32 ``LUTPopulate`` for LOGISTIC / TANH, the requantizing clamp for RELU / RELU6).
"""
from __future__ import annotations

import numpy as np

from intq.runtime.fast._lib import LIB, OP_LUT1, ptr
from intq.runtime.fast.layout import byte_table
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import activations as ref


def _table_kernel(ref_kernel: Kernel) -> Kernel:
    """A Kernel gathering from the table of ``ref_kernel``'s output for each input byte."""

    def prepare(graph, node) -> dict:
        p = ref_kernel.prepare(graph, node)
        return dict(table=byte_table(ref_kernel.run, p, graph.tensor(node.inputs[0]).dtype),
                    dtype=graph.tensor(node.outputs[0]).dtype)

    def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
        x = np.ascontiguousarray(inputs[0])
        out = np.empty(x.shape, p["dtype"])
        LIB.intq_lut1(ptr(x), ptr(out), x.size, ptr(p["table"]), 1)
        return [out]

    def plan(p: dict, ins: list, outs: list, num_threads: int):
        x, out = ins[0], outs[0]
        if x.size != out.size or x.dtype.itemsize != 1 or out.dtype != np.dtype(p["dtype"]):
            return None
        return [OP_LUT1, ptr(x), ptr(out), x.size, ptr(p["table"]), 1], [p["table"]]

    return Kernel(prepare, run, plan)


KERNELS = {op: _table_kernel(ref.KERNELS[op]) for op in ("LOGISTIC", "TANH", "RELU", "RELU6")}
