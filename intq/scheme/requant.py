"""Requantization constants the integer kernels and the training simulation share. Imports: numpy, intq.scheme.

Each is TFLite's prepare-time arithmetic (notes A.5, A.6, A.14), kept in the scheme layer so that the
runtime's reference kernels and intq.qat's eval-mode integer simulation use one definition:

* :func:`quantize_real` -- ``zero_point + TfLiteRound(f / scale)`` in float32 (kernel_util.cc ``Quantize``).
* :func:`activation_range` -- ``CalculateActivationRangeQuantized`` for a code range [qmin, qmax].
* :func:`activation_bound_overflow` -- the fused-activation bound whose ``Quantize`` LiteRT's Prepare refuses
  (``no_integer_overflow_from_quantization``: the output scale is too small), or None.
* :func:`legacy_conv_multiplier` -- (M0, shift) of a uint8 per-tensor CONV_2D / DEPTHWISE_CONV_2D /
  FULLY_CONNECTED: ``(double)(float)(s_in * s_w) / (double)s_out`` (``GetQuantizedConvolutionMultipler``).
* :func:`conv_multipliers` -- per output channel: that, or int8's ``(double)s_in * (double)s_w[c] / s_out``.
* :func:`mean_multiplier` -- 1/N folded into (M0, shift) as ``QuantizedMeanOrSum`` does.
* :func:`average_round` -- AVERAGE_POOL_2D's integer division of a window sum, rounded half away from zero.
* :func:`quantize_bias` -- the int32 bias with scale ``S_in * S_w`` and zero point 0.
* :func:`add_multipliers`, :func:`add_rescaled` -- ADD's common scale ``2 max(s1, s2) / 2^20`` (notes A.11).
* :func:`concat_rescale` -- uint8 CONCATENATION's float32 requantization of an input on other parameters
  (``ConcatenationWithScaling``, notes A.12).
"""
from __future__ import annotations

import numpy as np

from intq.scheme.fixedpoint import multiply_by_quantized_multiplier_smaller_than_one_exp as _mbqm_lt1
from intq.scheme.fixedpoint import quantize_multiplier
from intq.scheme.qparams import round_half_away


def quantize_real(f: float, scale: float, zero_point: int) -> int:
    """zero_point + TfLiteRound(f / scale), the division in float32, as an exact Python int.

    TFLite casts the rounded quotient to int32; where it does not fit (a bound like 6.0 over the tiny scale
    of a layer whose activations all but vanish, as in an untrained deep network), that cast is undefined
    behaviour in C++. The exact value is returned instead, which :func:`activation_range` then clamps to the
    code range, the result TFLite gives whenever its cast is defined.
    """
    return int(zero_point) + int(round_half_away(np.float32(f) / np.float32(scale)))


# The real bounds of each fused activation, in the order CalculateActivationRangeQuantized quantizes them.
ACTIVATION_BOUNDS = {"NONE": (), "RELU": (0.0,), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def activation_bound_overflow(activation: str, scale: float) -> float | None:
    """The first real bound f of a fused activation that LiteRT's Prepare refuses at this output scale, or None.

    kernel_util.cc ``Quantize`` (called by ``CalculateActivationRangeQuantized`` in the Prepare of CONV_2D,
    DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MUL, the pools...) computes ``tmp = TfLiteRound(f / scale)`` in
    float32 and ``TF_LITE_ENSURE(no_integer_overflow_from_quantization)``, i.e.
    ``(float)INT32_MIN <= tmp <= (float)INT32_MAX`` (the latter is 2^31 in float32). A RELU6 output scale below
    about 6 / 2^31 = 2.8e-9 fails it: "no_integer_overflow_from_quantization was not true ... failed to prepare".
    """
    lo, hi = np.float32(-(2.0 ** 31)), np.float32((1 << 31) - 1)      # static_cast<float>: -2^31, 2^31
    for f in ACTIVATION_BOUNDS.get(activation, ()):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tmp = round_half_away(np.float32(f) / np.float32(scale))
        if not (lo <= tmp <= hi):                                     # NaN fails too, as in C++
            return f
    return None


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


def conv_multipliers(s_in: float, s_w, s_out: float, channels: int,
                     float32_product: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (M0, left shift) int64 arrays of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED.

    ``float32_product``: TFLite's legacy per-tensor path (uint8 layers, and every per-tensor FULLY_CONNECTED),
    one multiplier from :func:`legacy_conv_multiplier` with ``s_w[0]``. Otherwise int8's
    ``PopulateConvolutionQuantizationParams``: ``(double)s_in * (double)s_w[c] / (double)s_out`` per channel,
    a single weight scale broadcast over the channels.
    """
    scales = np.atleast_1d(np.asarray(s_w, np.float32))
    if float32_product:
        pairs = [legacy_conv_multiplier(s_in, float(scales[0]), s_out)] * channels
    else:
        per = scales if scales.size == channels else np.full(channels, scales[0], np.float32)
        pairs = [quantize_multiplier(float(np.float64(s_in) * np.float64(s) / np.float64(s_out))) for s in per]
    return np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64)


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


def quantize_bias(b: np.ndarray, s_in: float, s_w) -> tuple[np.ndarray, np.ndarray]:
    """(int32 bias, its float32 scales): scale = float32(s_in * s_w), zero point 0 (paper §2.4, eq. 10).

    ``s_w`` is one weight scale or one per output channel (int8 per-channel weights; the bias is then
    per-channel too). q = round_half_away(b / scale) in float64, saturated to int32.
    """
    scale = (np.float64(s_in) * np.atleast_1d(np.asarray(s_w, np.float64))).astype(np.float32)
    q = round_half_away(np.asarray(b, np.float64) / scale.astype(np.float64))
    q = np.clip(q, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
    return q, scale


ADD_LEFT_SHIFT = 20


def add_multipliers(s1: float, s2: float, s_out: float) -> tuple[tuple[int, int], ...]:
    """((M1, sh1), (M2, sh2), (Mo, sho)) of TFLite's uint8/int8 ADD (add.cc Prepare), in double from float32.

    ``s_i / (2 max(s1, s2))`` for the inputs and ``2 max(s1, s2) / (2^20 s_out)`` for the output; each must
    lie in (0, 1) (``QuantizeMultiplierSmallerThanOneExp``), else ValueError naming which.
    """
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))                  # exact in float32
    reals = {"input 1": float(np.float32(s1)) / twice_max, "input 2": float(np.float32(s2)) / twice_max,
             "output": twice_max / float(np.float32(1 << ADD_LEFT_SHIFT) * np.float32(s_out))}
    for what, real in reals.items():
        if not 0.0 < real < 1.0:
            raise ValueError(f"{what} multiplier {real} must be in (0, 1) (output scale too small?)")
    return tuple(quantize_multiplier(r) for r in reals.values())


def add_rescaled(a: np.ndarray, b: np.ndarray, multipliers) -> np.ndarray:
    """``MBQM(MBQM(a << 20, M1) + MBQM(b << 20, M2), Mo)`` for a = q1 - z1, b = q2 - z2 (int64, before + z_out)."""
    (m1, m2, mo) = multipliers
    a = _mbqm_lt1(np.asarray(a, np.int64) << ADD_LEFT_SHIFT, *m1)
    b = _mbqm_lt1(np.asarray(b, np.int64) << ADD_LEFT_SHIFT, *m2)
    raw_sum = a.astype(np.int64) + b                                            # |.| < 2^29: no overflow
    return _mbqm_lt1(raw_sum, *mo).astype(np.int64)


def concat_rescale(q, s_in: float, z_in: int, s_out: float, z_out: int) -> np.ndarray:
    """TFLite's uint8 ``reference_ops::ConcatenationWithScaling`` for stored input codes ``q`` (int64 out).

    In float32, as LiteRT computes it (notes A.12)::

        scale = s_in * (1.f / s_out);  bias = -z_in * scale
        q_out = clamp((int32)TfLiteRound(q * scale + bias) + z_out, 0, 255)

    Not ``round((q - z_in) * s_in / s_out)``: the float32 ``bias`` is rounded on its own, so a value whose
    exact quotient is a tie (or within a float32 ulp of one) can round either way, e.g. s_in / s_out = 1.7,
    z_in = 105, q = 110: 5 * 1.7 = 8.5, but ``110 * scale + bias`` is 8.499985f, so 8, where fake quantization
    of the float value ``5 * s_in`` onto ``s_out`` gives 9.
    """
    scale = np.float32(s_in) * (np.float32(1.0) / np.float32(s_out))
    bias = np.float32(-z_in) * scale
    value = np.asarray(q, np.int64).astype(np.float32) * scale + bias               # float32 ops
    return np.clip(round_half_away(value).astype(np.int64) + z_out, 0, 255)
