"""Requantization constants the integer kernels and the training simulation share. Imports: numpy, intq.scheme.

Each is TFLite's prepare-time arithmetic (notes A.5, A.6, A.14), kept in the scheme layer so that the
runtime's reference kernels and intq.qat's eval-mode integer simulation use one definition:

* :func:`quantize_real` -- ``zero_point + TfLiteRound(f / scale)`` in float32 (kernel_util.cc ``Quantize``).
* :func:`activation_range` -- ``CalculateActivationRangeQuantized`` for a code range [qmin, qmax].
* :func:`legacy_conv_multiplier` -- (M0, shift) of a uint8 per-tensor CONV_2D / DEPTHWISE_CONV_2D /
  FULLY_CONNECTED: ``(double)(float)(s_in * s_w) / (double)s_out`` (``GetQuantizedConvolutionMultipler``).
* :func:`mean_multiplier` -- 1/N folded into (M0, shift) as ``QuantizedMeanOrSum`` does.
* :func:`average_round` -- AVERAGE_POOL_2D's integer division of a window sum, rounded half away from zero.
"""
from __future__ import annotations

import numpy as np

from intq.scheme.fixedpoint import quantize_multiplier
from intq.scheme.qparams import round_half_away


def quantize_real(f: float, scale: float, zero_point: int) -> int:
    """zero_point + (int32)TfLiteRound(f / scale), the division in float32."""
    q = round_half_away(np.float32(f) / np.float32(scale))
    if not (-(2.0 ** 31) <= float(q) <= 2.0 ** 31 - 1):
        raise ValueError(f"activation bound {f} / scale {scale} overflows int32")
    return int(zero_point) + int(q)


def activation_range(activation: str, scale: float, zero_point: int, qmin: int, qmax: int) -> tuple[int, int]:
    """Fused activation clamp [lo, hi] in output codes, starting from [qmin, qmax].

    RELU raises the floor to Quantize(0); RELU6 also caps at Quantize(6); RELU_N1_TO_1 clamps to
    [Quantize(-1), Quantize(1)]; NONE keeps [qmin, qmax].
    """
    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize_real(0.0, scale, zero_point)), qmax
    if activation == "RELU6":
        return (max(qmin, quantize_real(0.0, scale, zero_point)),
                min(qmax, quantize_real(6.0, scale, zero_point)))
    if activation == "RELU_N1_TO_1":
        return (max(qmin, quantize_real(-1.0, scale, zero_point)),
                min(qmax, quantize_real(1.0, scale, zero_point)))
    raise ValueError(f"unknown fused activation {activation!r}")


def legacy_conv_multiplier(s_in: float, s_w: float, s_out: float) -> tuple[int, int]:
    """(M0, left shift) for a per-tensor uint8 layer: the product s_in*s_w rounded to float32 first."""
    real = float(np.float64(np.float32(s_in) * np.float32(s_w)) / np.float64(s_out))
    return quantize_multiplier(real)


def mean_multiplier(m0: int, shift: int, n: int) -> tuple[int, int]:
    """Fold 1/n into (M0, shift) as QuantizedMeanOrSum does: s = min(floor(log2 n), 32, 31 + shift)."""
    s = min(n.bit_length() - 1, 32, 31 + shift)
    return (m0 << s) // n, shift - s


def average_round(acc: np.ndarray, n) -> np.ndarray:
    """acc / n rounded half away from zero in integers (C's truncating division on both signs), int64."""
    acc = np.asarray(acc, np.int64)
    n = np.asarray(n, np.int64)
    half = n // 2
    return np.where(acc > 0, (acc + half) // n, -((half - acc) // n))
