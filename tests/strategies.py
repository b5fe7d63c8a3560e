"""Shared hypothesis strategies for tests: qparams, scales, shapes, windows, weights and a one-op graph builder.

Building blocks for tests/op_cases.py (one-op graphs of every op) and other property tests. Random
data comes from a drawn seed (fast, and shrinks to small seeds).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from intq.ir import OP_OPTIONS, Graph, Quantization

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
RANGES = {"uint8": (0, 255), "int8": (-128, 127)}     # every test module takes the 8-bit ranges from here


# --- primitives ---------------------------------------------------------------------------------------
def scales(lo: float = 1e-3, hi: float = 1.0) -> st.SearchStrategy[float]:
    """Positive scales, log-uniform in [lo, hi], rounded to float32."""
    return st.floats(np.log(lo), np.log(hi)).map(lambda e: float(np.float32(np.exp(e))))


@st.composite
def qparams(draw, dtype: str, lo: float = 1e-3, hi: float = 1.0) -> Quantization:
    """Per-tensor activation quantization: any scale in [lo, hi], any zero point of ``dtype``."""
    zmin, zmax = RANGES[dtype]
    return Quantization.per_tensor(draw(scales(lo, hi)), draw(st.integers(zmin, zmax)))


def rng(draw) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def random_q(r: np.random.Generator, shape, dtype: str) -> np.ndarray:
    """Uniform random integers over the whole range of ``dtype`` (int32 biases: a moderate range)."""
    if dtype == "int32":
        return r.integers(-2000, 2001, size=shape).astype(np.int32)
    if dtype == "float32":
        return (r.standard_normal(size=shape) * r.choice([0.1, 1.0, 10.0])).astype(np.float32)
    lo, hi = RANGES[dtype]
    return r.integers(lo, hi + 1, size=shape).astype(dtype)


def shape_and_axis(draw, max_dim: int) -> tuple[list[int], int]:
    """(shape, axis): rank 1-4, dims in 1..max_dim, axis in [-rank, rank). ``draw``: a composite's draw or data.draw."""
    rank = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, max_dim)) for _ in range(rank)]
    return shape, draw(st.integers(-rank, rank - 1))


@st.composite
def nhwc(draw, max_batch: int = 2, max_hw: int = 7, max_c: int = 6, min_hw: int = 1) -> tuple[int, int, int, int]:
    return (draw(st.integers(1, max_batch)), draw(st.integers(min_hw, max_hw)), draw(st.integers(min_hw, max_hw)),
            draw(st.integers(1, max_c)))


@st.composite
def weights(draw, r, shape, dtype: str, axis: int, in_scale: float) -> tuple[np.ndarray, Quantization, Quantization]:
    """(filter, filter quantization, bias quantization). uint8: per-tensor, zp in [0,255]; int8: per-channel
    along ``axis``, symmetric (zp 0), values in [-127, 127]. Bias scale = in_scale * w_scale (paper eq. 15)."""
    n = shape[axis]
    if dtype == "uint8":
        wq = Quantization.per_tensor(draw(scales(1e-3, 0.1)), draw(st.integers(0, 255)))
        w = random_q(r, shape, "uint8")
    else:
        s = np.array([draw(scales(1e-3, 0.1)) for _ in range(n)], np.float32)
        wq = Quantization(s, np.zeros(n, np.int64), axis)
        w = r.integers(-127, 128, size=shape).astype(np.int8)
    bq = Quantization((np.float32(in_scale) * wq.scale).astype(np.float32), np.zeros(wq.scale.size, np.int64), 0)
    return w, wq, bq


def out_scale_for(draw, in_scale: float, w_scale: np.ndarray, fan_in: int) -> float:
    """An output scale giving real multipliers in (0, 1] for every channel (as TFLite's uint8 path needs)."""
    base = float(in_scale) * float(np.max(w_scale))
    ratio = draw(st.floats(0.0, np.log(64.0 * np.sqrt(fan_in) + 1.0)))      # log-uniform: many M near 1
    return float(np.float32(base * np.exp(ratio)))


class Case:
    """A one-op graph under construction, and its inputs."""

    def __init__(self, name: str = "case"):
        self.g = Graph(name=name)
        self.inputs: list[np.ndarray] = []

    def input(self, name: str, x: np.ndarray, quant: Quantization | None) -> str:
        self.g.add_tensor(name, x.shape, str(x.dtype), quant)
        self.g.inputs.append(name)
        self.inputs.append(x)
        return name

    def const(self, name: str, data, quant: Quantization | None = None) -> str:
        return self.g.add_constant(name, np.asarray(data), quant)

    def output(self, name: str, shape, dtype: str, quant: Quantization | None) -> str:
        self.g.add_tensor(name, shape, dtype, quant)
        self.g.outputs.append(name)
        return name

    def node(self, op: str, inputs, outputs, **options) -> "Case":
        self.g.add_node(op, inputs, outputs, OP_OPTIONS[op](**options), name=f"{op.lower()}_under_test")
        return self

    def result(self) -> tuple[Graph, list[np.ndarray]]:
        return self.g, self.inputs


def conv_out(size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite ComputeOutSize."""
    eff = (k - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == "SAME" else (size - eff + stride) // stride


@st.composite
def window(draw, h: int, w: int, max_k: int = 3, dilate: bool = True):
    """(kh, kw, stride_h, stride_w, dil_h, dil_w, padding) giving an output of at least 1x1."""
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    kh, kw = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilate else (1, 1)
    if padding == "VALID":
        # shrink the window until it fits
        while (kh - 1) * dh + 1 > h:
            kh, dh = (kh - 1, dh) if kh > 1 else (kh, 1)
        while (kw - 1) * dw + 1 > w:
            kw, dw = (kw - 1, dw) if kw > 1 else (kw, 1)
    return kh, kw, sh, sw, dh, dw, padding


def pool_draws(max_hw: int, channels: list[int], max_k: int) -> tuple:
    """The @given arguments of a pooling property test: dtype, seed, n, h, w, c, kh, kw, sh, sw, padding and
    the fused activation (NONE/RELU/RELU6)."""
    return (st.sampled_from(["uint8", "int8"]), st.integers(0, 2**32 - 1), st.integers(1, 3),
            st.integers(1, max_hw), st.integers(1, max_hw), st.sampled_from(channels), st.integers(1, max_k),
            st.integers(1, max_k), st.integers(1, 3), st.integers(1, 3), st.sampled_from(["SAME", "VALID"]),
            st.sampled_from(["NONE", "RELU", "RELU6"]))
