"""Fast CONV_2D: prepare packs weights for the C GEMM; run calls csrc/intq_fast.c. Imports: numpy, intq.runtime.

Prepare reuses the reference prepare (multipliers, shifts, clamp, geometry: the float maths is defined once)
and adds: weights as int8 (uint8 weights as w-128 with zero point z_w-128, so u8 x s8 vpdpbusd computes
the same sum), packed [C_out/32][K/4][32][4] with K padded to 4 and C_out to 32 (and an int16 copy
[C_out/32][K/2][32][2] for AVX2's vpmaddwd), the per-channel constant of the paper's eq. 7-8 expansion,
``bias - z_a*sum_k w + K*z_a*z_w`` (int32, wrapping), and the shifts as a shift block (_lib.shift_block);
every constant 64-byte aligned (_lib.pinned_consts).
Grouped convolutions (groups > 1) use the reference run.
"""
from __future__ import annotations

import numpy as np

from intq.ir.graph import Graph
from intq.ir.ops import Node
from intq.runtime.fast._lib import (ISA_LEVEL, LIB, OP_CONV, aligned, call_conv_like, pinned_consts, ptr, shift_block,
                                     threads_for)
from intq.runtime.kernels import ExecContext, Kernel
from intq.runtime.reference import conv as ref
from intq.scheme.fixedpoint import wrap32

NR = 32
#: intq_conv's constant arguments, in order (conv.py and fully_connected.py)
CONSTS = ("B", "B16", "colterm", "m0", "shift", "colterm16")


def pack_gemm(wmat: np.ndarray, w_dtype: str, z_w: int, z_in: int, in_dtype: str, bias: np.ndarray,
              segments: tuple[int, int] | None = None, portable: bool = ISA_LEVEL == 0) -> dict:
    """Pack weights [C_out, K] (uint8|int8) for intq_conv: B int8 [Np/32][Kp/4][32][4] (VNNI, GEMV)
    with colterm = bias - z_a sum b + K z_a z_b; B16 int16 [Np/32][Kp16/2][32][2] = w - z_w (AVX2 vpmaddwd)
    with colterm16 = bias - z_a sum (w - z_w), which needs no per-pixel row sums; z_a, z_b, K, Kp, Np, lp.
    ``portable`` (this machine runs the portable level): B16 is that level's copy of w - z_w instead, int16
    [Np][Kt] (Kt = K rounded up to 8, zeros past K), whose dot products over K compilers vectorise
    (csrc/intq_fast.c gemm_dot), and B a 64-byte placeholder: the portable level reads neither SIMD layout, so it keeps
    2 bytes a weight rather than 5. Elsewhere :func:`level_consts` makes that copy on the first call at level
    0 (tests), so the SIMD levels do not carry 2 bytes a weight they never read.

    ``segments`` = (kh, kw*C): B16's K is kh rows of kw*C taps, each padded with zeros to lp (even), the
    layout of the AVX2 tile built straight from the input (csrc/intq_fast.c im2col16_seg); else lp = 0 and
    B16 rows have Kp."""
    cout, k = wmat.shape
    if w_dtype == "uint8":
        b, z_b = (wmat.astype(np.int16) - 128).astype(np.int8), int(z_w) - 128
    else:
        b, z_b = wmat.astype(np.int8), int(z_w)
    z_a = int(z_in) + (128 if in_dtype == "int8" else 0)
    kp, np_ = -(-k // 4) * 4, -(-cout // NR) * NR
    full = np.zeros((np_, kp), np.int8)
    full[:cout, :k] = b
    packed = np.ascontiguousarray(full.reshape(np_ // NR, NR, kp // 4, 4).transpose(0, 2, 1, 3))
    lp = 0
    if segments is None:
        centred = np.zeros((np_, kp), np.int16)             # w - z_w, |.| <= 255: exact in vpmaddwd
        centred[:cout, :k] = b.astype(np.int16) - z_b
    else:
        kh, seg = segments
        lp = seg + seg % 2
        centred = np.zeros((np_, kh, lp), np.int16)
        centred[:cout, :, :seg] = (b.astype(np.int16) - z_b).reshape(cout, kh, seg)
        centred = centred.reshape(np_, kh * lp)
    kp16 = centred.shape[1]
    packed16 = np.ascontiguousarray(centred.reshape(np_ // NR, NR, kp16 // 2, 2).transpose(0, 2, 1, 3))
    if portable:
        packed, packed16 = np.zeros(64, np.int8), _portable_copy(packed16, k, lp)   # B: a placeholder
    colsum = b.astype(np.int64).sum(axis=1)
    colterm = wrap32(bias.astype(np.int64) - z_a * colsum + k * z_a * z_b).astype(np.int32)
    colterm16 = wrap32(bias.astype(np.int64) - z_a * (colsum - k * z_b)).astype(np.int32)
    return dict(B=packed, B16=packed16, colterm=colterm, colterm16=colterm16, z_a=z_a, z_b=z_b, k=k, kp=kp,
                np=np_, lp=lp)


def _portable_copy(b16: np.ndarray, k: int, lp: int) -> np.ndarray:
    """The portable level's int16 [Np][Kt] copy of w - z_w (Kt = K rounded up to 8, zeros past K) from the
    AVX2 packing B16 [Np/32][Kp16/2][32][2] (its K in kernel rows padded to ``lp`` when lp > 0)."""
    blocks, half = b16.shape[0], b16.shape[1]
    centred = b16.transpose(0, 2, 1, 3).reshape(blocks * NR, 2 * half)         # [Np][Kp16]
    if lp:
        kh = centred.shape[1] // lp
        centred = centred.reshape(-1, kh, lp)[:, :, :k // kh].reshape(-1, k)
    bt = np.zeros((centred.shape[0], -(-k // 8) * 8), np.int16)
    bt[:, :k] = centred[:, :k]
    return bt


def level_consts(p: dict, level: int) -> tuple:
    """``p``'s constant addresses for a call at ``level``: at the portable level where the prepare left out its
    copy of the weights (a SIMD machine, in tests), that copy in B16's place, made once and kept in
    ``p["portable"]`` with the addresses."""
    if level > 0 or ISA_LEVEL == 0:
        return p["consts"]
    if "portable" not in p:
        g = p["geom"]                                     # [14] K, [17] Np; [25] lp (conv; FC geometry has 0)
        k, np_, lp = int(g[14]), int(g[17]), int(g[25])
        bt = aligned(_portable_copy(p["B16"].reshape(np_ // NR, -1, NR, 2), k, lp))
        at = CONSTS.index("B16")
        # one assignment (atomic under the GIL): a concurrent first call keeps whichever pair won, whole
        p.setdefault("portable", (bt, p["consts"][:at] + (ptr(bt),) + p["consts"][at + 1:]))
    return p["portable"][1]


def prepare(graph: Graph, node: Node) -> dict:
    """Reference prepare + packing (TFLite conv Prepare); groups > 1 keep the reference params only."""
    p = ref.prepare(graph, node)
    if p["groups"] != 1:
        return dict(ref=p)
    x, w = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
    _, h, wd, c = x.shape
    cout, kh, kw, _ = w.shape
    z_w = int(w.quant.zero_point[0]) if w.dtype == "uint8" else 0
    segmented = kh * kw > 1 and p["dilation"][1] == 1     # AVX2 builds these tiles in row segments
    g = pack_gemm(w.data.reshape(cout, -1), w.dtype, z_w, p["z_in"], x.dtype, p["bias"],
                  (kh, kw * c) if segmented else None)
    geom = [0, h, wd, c, kh, kw, *p["stride"], *p["dilation"], p["pad"][0], p["pad"][1], *p["out_hw"],
            g["k"], g["kp"], cout, g["np"], int(x.dtype == "int8"), int(p["dtype"] == "int8"),
            g["z_a"], g["z_b"], p["z_out"], p["lo"], p["hi"], g["lp"]]
    padn = g["np"] - cout                                 # the vector epilogue reads whole 32-channel blocks
    q = dict(ref=None, geom=np.array(geom, np.int32), B=g["B"], B16=g["B16"],
                colterm=np.pad(g["colterm"], (0, padn)), m0=np.pad(p["m0"].astype(np.int32), (0, padn)),
                shift=np.pad(p["shift"].astype(np.int32), (0, padn)), colterm16=np.pad(g["colterm16"], (0, padn)),
                dtype=p["dtype"], cout=cout, out_hw=p["out_hw"])
    q["shift"] = shift_block(q["m0"], q["shift"])       # + the vector constants derived from it
    q["consts"] = pinned_consts(q, CONSTS)
    return q


def run_level(p: dict, x: np.ndarray, num_threads: int, level: int) -> np.ndarray:
    """CONV_2D through the C kernel at ISA ``level`` (<= ISA_LEVEL): x uint8|int8[N,H,W,C] -> [N,oh,ow,C_out]."""
    return call_conv_like(LIB.intq_conv, "intq_conv", p, x, num_threads, level,
                          level_consts(p, min(level, ISA_LEVEL)))


def run(p: dict, inputs: list, ctx: ExecContext) -> list[np.ndarray]:
    """Integer-only CONV_2D, byte-identical to the reference kernel."""
    if p["ref"] is not None:
        return ref.run(p["ref"], inputs, ctx)
    return [run_level(p, inputs[0], _threads(p, inputs[0].shape[0], ctx.num_threads), ISA_LEVEL)]


def _threads(p: dict, batch: int, num_threads: int) -> int:
    g = p["geom"]                                          # [12:14] out_hw, [14] K, [16] C_out
    return threads_for(batch * int(g[12]) * int(g[13]) * int(g[14]) * int(g[16]), num_threads)


def plan(p: dict, ins: list, outs: list, num_threads: int):
    """intq_run_plan record of this conv on fixed buffers (grouped convolutions: None)."""
    if p["ref"] is not None:
        return None
    geom = p["geom"].copy()
    geom[0] = ins[0].shape[0]
    nt = _threads(p, ins[0].shape[0], num_threads)
    work = int(LIB.intq_conv_work_bytes(ptr(geom), nt, ISA_LEVEL))
    return [OP_CONV, ptr(geom), ptr(ins[0]), *p["consts"], ptr(outs[0]), nt, ISA_LEVEL], [geom], work


KERNELS = {"CONV_2D": Kernel(prepare, run, plan)}
