"""Quantization parameters of the affine scheme r = S (q - Z) (paper eq. 1). Imports: numpy, intq.errors.

Ranges are *nudged* exactly as TensorFlow's FakeQuantWithMinMaxVars does (all arithmetic in float32) so
that real 0.0 is exactly representable: the zero point is an integer in [qmin, qmax] and
``nudged_min = (qmin - Z) * S``, ``nudged_max = (qmax - Z) * S``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intq.errors import QuantizationError


def round_half_away(x):
    """Round to nearest, ties away from zero (C's ``std::round``, TFLite's ``TfLiteRound``).

    NumPy's ``np.round`` rounds ties to even and is *not* what TFLite does: 2.5 -> 3, -2.5 -> -3 here.
    Works on scalars and arrays and keeps the float dtype.
    Computed as trunc(x) plus one step away from zero when |x - trunc(x)| >= 0.5; both steps are exact,
    unlike ``floor(|x| + 0.5)``, which rounds 0.49999997f up (the sum rounds to 1.0f) and moves odd
    integers >= 2^23 in float32.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return x
    whole = np.trunc(x)
    with np.errstate(invalid="ignore"):                  # inf - inf: the step is then irrelevant
        step = (np.abs(x - whole) >= x.dtype.type(0.5)).astype(x.dtype)
    return whole + np.copysign(step, x)


# Ranges no wider than this (max - min, after widening to 0) are degenerate: choose_qparams quantizes them as
# [0, 1]. The threshold is TensorFlow's kNearZeroTolerance (tensorflow/compiler/mlir/quantization/common/
# quantization_lib/quantization_utils.cc, ExpandVerySmallRange: "Expand the range to prevent extremely small
# scales and large quantized integers which can cause overflow"). Every scale is then > 1e-6 / 255 = 3.92e-9 at
# <= 8 bits, above 6 / 2^31 = 2.79e-9, the smallest output scale at which LiteRT's Prepare accepts a fused RELU6.
# TF widens such a range to [min(rmin, -5e-7), max(rmax, 5e-7)] instead; intq keeps its all-zero rule because a
# 3.9e-9 scale feeding the next layer makes its bias scale S_in * S_w tiny: the int32 bias saturates and the
# output multiplier can fall under 2^-31 (flushed to 0), so the graph drifts from the fake-quant simulation.
MIN_RANGE_WIDTH = 1.0e-6


def quant_range(num_bits: int = 8, narrow_range: bool = False, signed: bool = False) -> tuple[int, int]:
    """(qmin, qmax) of an n-bit integer; narrow range drops the lowest code ([-127, 127] for int8)."""
    if not isinstance(num_bits, (int, np.integer)) or not 2 <= num_bits <= 16:
        raise QuantizationError(f"num_bits must be an integer in 2..16, got {num_bits!r}")
    qmin, qmax = (-(1 << (num_bits - 1)), (1 << (num_bits - 1)) - 1) if signed else (0, (1 << num_bits) - 1)
    return (qmin + 1 if narrow_range else qmin), qmax


@dataclass(frozen=True)
class QParams:
    """Per-tensor affine parameters: real = scale * (q - zero_point), q in [qmin, qmax]."""

    scale: float
    zero_point: int
    qmin: int = 0
    qmax: int = 255

    @property
    def nudged_min(self) -> float:
        return float(np.float32(self.qmin - self.zero_point) * np.float32(self.scale))

    @property
    def nudged_max(self) -> float:
        return float(np.float32(self.qmax - self.zero_point) * np.float32(self.scale))


def choose_qparams(rmin: float, rmax: float, num_bits: int = 8, narrow_range: bool = False,
                   signed: bool = False) -> QParams:
    """Scale and zero point for the real range [rmin, rmax], nudged so that 0.0 is exact.

    Follows TensorFlow's ``Nudge`` (fake_quant_ops_functor.h) in float32: the range is first widened to
    contain 0 (TFLite requires it), ``scale = (rmax - rmin) / (qmax - qmin)``, the zero point is
    ``qmin - rmin / scale`` rounded half away from zero and clamped to [qmin, qmax]. ``narrow_range``
    gives weights in [1, 255] (uint8) i.e. [-127, 127] as int8, as the paper does.

    A degenerate range, one no wider than :data:`MIN_RANGE_WIDTH` = 1e-6 after widening to 0 (rmin == rmax == 0,
    or a ReLU whose inputs were all but zero in training, e.g. [0, 3.5e-8]), is quantized as [0, 1]: scale
    1/(qmax - qmin), zero point qmin, so zeros quantize exactly and the sub-1e-6 values go to 0. Without it the
    scale could be arbitrarily small and LiteRT's Prepare refuses a fused RELU6 / RELU_N1_TO_1 once 6 / S no
    longer fits int32 (kernel_util.cc ``Quantize``: "no_integer_overflow_from_quantization was not true").
    """
    qmin, qmax = quant_range(num_bits, narrow_range, signed)
    try:
        lo, hi = float(rmin), float(rmax)
    except (TypeError, ValueError) as e:
        raise QuantizationError(f"range must be two real numbers, got {rmin!r}, {rmax!r}") from e
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise QuantizationError(f"range must be finite, got [{lo}, {hi}]")
    if lo > hi:
        raise QuantizationError(f"range min {lo} is greater than max {hi}")
    lo, hi = np.float32(min(lo, 0.0)), np.float32(max(hi, 0.0))
    if float(hi) - float(lo) <= MIN_RANGE_WIDTH:                  # [0, 0], or all but zero
        lo, hi = np.float32(0.0), np.float32(1.0)
    scale = (hi - lo) / np.float32(qmax - qmin)
    if not scale > 0 or not np.isfinite(scale):
        raise QuantizationError(f"range [{lo}, {hi}] gives an unusable scale {scale}")
    zp_from_min = np.float32(qmin) - lo / scale
    if zp_from_min < qmin:
        zero_point = qmin
    elif zp_from_min > qmax:
        zero_point = qmax
    else:
        zero_point = int(round_half_away(zp_from_min))
    return QParams(float(scale), int(zero_point), qmin, qmax)


def symmetric_scales(absmax, num_bits: int = 8) -> np.ndarray:
    """float32 scales of symmetric narrow-range signed weights (TFLite's int8 spec: zero point 0, codes in
    [-(2^(n-1) - 1), 2^(n-1) - 1]), one per entry of ``absmax`` (e.g. per output channel).

    Equal to ``choose_qparams(-m, m, num_bits, narrow_range=True, signed=True).scale`` (whose zero point is
    then 0) for each float32 m with 2m > MIN_RANGE_WIDTH (choose_qparams' degenerate ranges do not apply here:
    a tiny m keeps its tiny scale), vectorised: ``(m - (-m)) / (2^n - 2)`` in float32. m == 0 gets the scale of m = 1
    (every code is 0 anyway).
    """
    qmin, qmax = quant_range(num_bits, narrow_range=True, signed=True)
    m = np.asarray(absmax, np.float32)
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise QuantizationError("symmetric ranges need finite absolute maxima >= 0")
    m = np.where(m == 0, np.float32(1.0), m)
    return ((m - (-m)) / np.float32(qmax - qmin)).astype(np.float32)


def quantize(x, qp: QParams, dtype=np.uint8) -> np.ndarray:
    """q = clamp(round_half_away(x / scale) + zero_point, qmin, qmax), in float32 like TFLite's AffineQuantize.

    Raises QuantizationError on NaN input (a NaN has no integer code).
    """
    x = np.asarray(x, dtype=np.float32)
    if np.isnan(x).any():
        raise QuantizationError("cannot quantize NaN values")
    q = round_half_away(x / np.float32(qp.scale)).astype(np.int64) + qp.zero_point
    return np.clip(q, qp.qmin, qp.qmax).astype(dtype)


def dequantize(q, qp: QParams) -> np.ndarray:
    """r = scale * (q - zero_point) as float32 (TFLite's reference Dequantize)."""
    return (np.float32(qp.scale) * (np.asarray(q).astype(np.int32) - np.int32(qp.zero_point)).astype(np.float32))
