"""Fast FULLY_CONNECTED: the compiled conv GEMM on a 1x1 geometry (rows = batches). Imports: numpy, intq.runtime.

Prepare reuses the reference prepare (multipliers from ``conv_output_multipliers``, clamp, zero points) and
packs [out_units, accum_depth] weights with :func:`intq.runtime.fast.conv.pack_gemm`; run flattens the
input to [batches, accum_depth] as ``reference_ops::FullyConnected`` does and calls ``intq_conv``.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import ISA_LEVEL, LIB, OP_CONV, aligned_empty, pinned_consts, ptr, shift_block, threads_for
from intq.runtime.fast.conv import CONSTS, level_consts, pack_gemm
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import fully_connected as ref


def prepare(graph: Graph, node: Node) -> dict:
    """Reference prepare + packed weights and per-channel constants for the GEMM."""
    p = ref.prepare(graph, node)
    x, w = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
    units, depth = w.shape
    z_w = 0 if w.quant.per_channel else int(w.quant.zero_point[0])
    g = pack_gemm(w.data, w.dtype, z_w, p["z_in"], x.dtype, p["bias"])
    geom = [0, 1, 1, depth, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, g["k"], g["kp"], units, g["np"],
            int(x.dtype == "int8"), int(p["dtype"] == "int8"), g["z_a"], g["z_b"], p["z_out"], p["lo"], p["hi"], 0]
    padn = g["np"] - units
    q = dict(geom=np.array(geom, np.int32), B=g["B"], B16=g["B16"], colterm=np.pad(g["colterm"], (0, padn)),
             m0=np.pad(p["m0"].astype(np.int32), (0, padn)), shift=np.pad(p["shift"].astype(np.int32), (0, padn)),
             colterm16=np.pad(g["colterm16"], (0, padn)), dtype=p["dtype"], units=units, depth=depth,
             keep_num_dims=p["keep_num_dims"], where=p["where"])
    q["shift"] = shift_block(q["m0"], q["shift"])       # + the vector constants derived from it
    q["consts"] = pinned_consts(q, CONSTS)
    return q


def run_level(p: dict, x: np.ndarray, num_threads: int, level: int) -> np.ndarray:
    """FULLY_CONNECTED through the C GEMM at ISA ``level``: x -> [batches, units] (or keep_num_dims shape)."""
    rows = np.ascontiguousarray(x.reshape(-1, p["depth"]))
    geom = p["geom"].copy()
    geom[0] = rows.shape[0]
    out = aligned_empty((rows.shape[0], p["units"]), p["dtype"])
    level = int(min(level, ISA_LEVEL))
    if LIB.intq_conv(ptr(geom), ptr(rows), *level_consts(p, level), ptr(out), int(num_threads), level, None):
        raise MemoryError("intq_conv: scratch allocation failed")
    return out.reshape(x.shape[:-1] + (-1,)) if p["keep_num_dims"] else out


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """Integer-only FULLY_CONNECTED, byte-identical to the reference kernel."""
    ref.check_rows(p, inputs[0])
    macs = inputs[0].size // p["depth"] * p["depth"] * p["units"]
    return [run_level(p, inputs[0], threads_for(macs, ctx.num_threads), ISA_LEVEL)]


def plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record: the GEMM on the input buffer read as [batches, accum_depth]."""
    if ins[0].size % p["depth"] or outs[0].size != ins[0].size // p["depth"] * p["units"]:
        return None
    geom = p["geom"].copy()
    geom[0] = ins[0].size // p["depth"]
    nt = threads_for(int(geom[0]) * p["depth"] * p["units"], num_threads)
    work = int(LIB.intq_conv_work_bytes(ptr(geom), nt, ISA_LEVEL))
    return [OP_CONV, ptr(geom), ptr(ins[0]), *p["consts"], ptr(outs[0]), nt, ISA_LEVEL], [geom], work


KERNELS = {"FULLY_CONNECTED": Kernel(prepare, run, plan)}
