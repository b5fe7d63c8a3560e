"""Fast DEPTHWISE_CONV_2D: int32 taps and an AVX2/C loop over channels (memory bound). Imports: numpy, intq.runtime.

Prepare reuses the reference prepare; taps (w - z_w) are int32, channels padded to 8. The C kernel skips padded taps and
requantizes per channel with TFLite's MultiplyByQuantizedMultiplier (double rounding). For pixels whose taps are
all in bounds the AVX2 path uses sum (x - z_x) w = sum x w - z_x sum w: ``bint`` = bias - z_x * sum_t w[t]
(int32, wrapping) and the taps as int16 pairs ``w2`` [ceil(kh*kw/2)][C padded to 16][2] for vpmaddwd.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import (ISA_LEVEL, LIB, OP_DEPTHWISE, call_conv_like, pinned_consts, ptr, shift_block,
                                     threads_for)
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import depthwise_conv as ref
from intq.scheme.fixedpoint import wrap32


def prepare(graph: Graph, node: Node) -> dict:
    """Reference prepare + int32 taps [kh*kw, Cpad] (channels padded to 8) and an int32 geometry vector."""
    p = ref.prepare(graph, node)
    x = graph.tensor(node.inputs[0])
    _, h, w, c = x.shape
    cout = p["taps"].shape[1]
    cpad = -(-cout // 8) * 8                     # the AVX2 path reads whole 8-channel vectors
    geom = [0, h, w, c, *p["kernel"], *p["stride"], *p["dilation"], *p["pad"], *p["out_hw"], cout, p["mult"],
            int(x.dtype == "int8"), p["z_in"], p["z_out"], p["lo"], p["hi"], cpad]

    def padded(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.pad(a.astype(np.int32), [(0, 0)] * (a.ndim - 1) + [(0, cpad - cout)]))
    taps = p["taps"].astype(np.int64)                                        # [kh*kw, C*M], w - z_w
    cp16 = -(-cout // 16) * 16
    pairs = np.zeros((-(-taps.shape[0] // 2) * 2, cp16), np.int16)
    pairs[:taps.shape[0], :cout] = taps
    w2 = np.ascontiguousarray(pairs.reshape(-1, 2, cp16).transpose(0, 2, 1))   # [pairs][cp16][2]
    bint = np.zeros(cp16, np.int32)
    bint[:cout] = wrap32(p["bias"].astype(np.int64) - int(p["z_in"]) * taps.sum(axis=0))
    q = dict(geom=np.array(geom, np.int32), w32=padded(p["taps"]), bias=padded(p["bias"]), m0=padded(p["m0"]),
             shift=padded(p["shift"]), w2=w2, bint=bint, dtype=p["dtype"], cout=cout, out_hw=p["out_hw"])
    q["shift"] = shift_block(q["m0"], q["shift"])       # + the vector constants derived from it
    q["consts"] = pinned_consts(q, ("w32", "bias", "m0", "shift", "w2", "bint"))
    return q


def run_level(p: dict, x: np.ndarray, num_threads: int, level: int) -> np.ndarray:
    """DEPTHWISE_CONV_2D through the C kernel at ISA ``level``: x uint8|int8[N,H,W,C] -> [N,oh,ow,C*M]."""
    return call_conv_like(LIB.intq_depthwise, "intq_depthwise", p, x, num_threads, level)


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """Integer-only DEPTHWISE_CONV_2D, byte-identical to the reference kernel."""
    return [run_level(p, inputs[0], _threads(p, inputs[0].shape[0], ctx.num_threads), ISA_LEVEL)]


def _threads(p: dict, batch: int, num_threads: int) -> int:
    g = p["geom"]                         # [4:6] kernel, [12:14] out_hw, [14] C_out; a tap costs ~4 GEMM MACs
    return threads_for(batch * int(g[12]) * int(g[13]) * int(g[14]) * int(g[4]) * int(g[5]) * 4, num_threads)


def plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this depthwise conv on fixed buffers."""
    geom = p["geom"].copy()
    geom[0] = ins[0].shape[0]
    nt = _threads(p, ins[0].shape[0], num_threads)
    work = int(LIB.intq_depthwise_work_bytes(ptr(geom), nt, ISA_LEVEL))
    return [OP_DEPTHWISE, ptr(geom), ptr(ins[0]), *p["consts"], ptr(outs[0]), nt, ISA_LEVEL], [geom], work


KERNELS = {"DEPTHWISE_CONV_2D": Kernel(prepare, run, plan)}
