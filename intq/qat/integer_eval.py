"""Eval-mode integer simulation: what the integer kernels compute, in torch. Imports: torch, numpy, intq.scheme.

A fake-quant model in eval is meant to predict its integer graph, but fake quantization alone rounds
differently from the kernels in four places (each worth at most an output LSB or two, enough to flip
near-tied top-1 predictions): the kernels add an int32 bias and requantize the accumulator with the
fixed-point multiplier ``M0 * 2^-n`` (paper eq. 5-10), ADD rescales both inputs in fixed point, MEAN /
AVERAGE_POOL_2D divide integer sums with integer rounding, QUANTIZE int8 -> int8 (before int8
CONCATENATION inputs) requantizes in fixed point, and the uint8 CONCATENATION rescales an input on other
parameters with LiteRT's float32 formula (which rounds near-ties differently from fake quantization of the
float value). The functions here take tensors that lie on a
quantizer's grid (``S * (q - Z)`` in float32, as fake_quant returns them), recover the integer codes exactly,
do the kernel's arithmetic with intq.scheme's code (the same functions the runtime's reference kernels call),
and return the result on the output grid. Integer sums are carried in float64 (exact below 2^53) on the
tensors' device; requantization runs in NumPy int64 on the CPU.

Used only in eval (no gradient); training keeps the straight-through fake-quant forward.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from intq.scheme.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, wrap32
from intq.scheme.qparams import QParams, round_half_away
from intq.scheme.requant import (activation_range, add_multipliers, add_rescaled, average_round, concat_rescale,
                                 mean_multiplier)


def codes(x: torch.Tensor, qp: QParams) -> torch.Tensor:
    """``q - Z`` (float64, integer valued) of a tensor on the grid of ``qp``."""
    q = round_half_away(x.detach().to(torch.float64).cpu().numpy() / np.float64(np.float32(qp.scale)))
    return torch.from_numpy(q).to(x.device)


def _on_grid(q_minus_z: np.ndarray, qp: QParams, device) -> torch.Tensor:
    """float32 ``(q - Z) * S``: what fake_quant returns for code q."""
    y = q_minus_z.astype(np.float32) * np.float32(qp.scale)
    return torch.from_numpy(np.ascontiguousarray(y)).to(device)


@torch.no_grad()
def fused_layer(x: torch.Tensor, in_qp: QParams, w_codes: np.ndarray, bias: np.ndarray,
                multipliers: tuple[np.ndarray, np.ndarray], out_qp: QParams, activation: str,
                op: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED as the integer kernels compute it.

    ``acc = op(q_x - Z_x, w_codes) + bias`` with ``w_codes = q_w - Z_w`` (torch layout, output channels on
    dim 0) and the int32 ``bias``; ``q = clamp(MBQM(acc, M0[c], n[c]) + Z_out, act_lo, act_hi)`` with the
    per-channel ``multipliers`` (M0, left shift) of intq.scheme.requant.conv_multipliers. ``op`` is the
    layer's float conv / linear (run in float64); ``out_qp`` is in the graph's code space (uint8 or int8).
    """
    acc = op(codes(x, in_qp), torch.from_numpy(w_codes.astype(np.float64)).to(x.device))
    shape = (1, -1) + (1,) * (acc.dim() - 2)                                   # channels on dim 1
    acc = acc + torch.from_numpy(bias.astype(np.float64)).to(x.device).reshape(shape)
    m0, shift = (np.asarray(v, np.int64).reshape(shape) for v in multipliers)
    lo, hi = activation_range(activation, out_qp.scale, out_qp.zero_point, out_qp.qmin, out_qp.qmax)
    acc32 = wrap32(acc.cpu().numpy().astype(np.int64))
    q = np.clip(multiply_by_quantized_multiplier(acc32, m0, shift).astype(np.int64) + out_qp.zero_point, lo, hi)
    return _on_grid(q - out_qp.zero_point, out_qp, x.device)


@torch.no_grad()
def mean_hw(x: torch.Tensor, qp: QParams, keep_dims: bool) -> torch.Tensor:
    """MEAN over H, W of an NCHW tensor, input and output on ``qp`` (intq.runtime.reference.mean's formula)."""
    n = int(x.shape[2] * x.shape[3])
    total = (codes(x, qp) + qp.zero_point).sum(dim=(2, 3), keepdim=keep_dims)   # sum of the stored codes
    m0, shift = mean_multiplier(*quantize_multiplier(float(np.float64(qp.scale) / np.float64(qp.scale))), n)
    shifted = wrap32(total.cpu().numpy().astype(np.int64) - qp.zero_point * n)
    q = np.clip(multiply_by_quantized_multiplier(shifted, m0, shift).astype(np.int64) + qp.zero_point,
                qp.qmin, qp.qmax)
    return _on_grid(q - qp.zero_point, qp, x.device)


@torch.no_grad()
def average_pool(x: torch.Tensor, qp: QParams, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """AVERAGE_POOL_2D (no activation) of an NCHW tensor on ``qp``: window sums of the codes over the taps
    inside the image, divided by their count with integer half-away rounding."""
    u = codes(x, qp) + qp.zero_point
    sums = F.avg_pool2d(u, kernel, stride, padding, divisor_override=1)
    count = F.avg_pool2d(torch.ones_like(u[:1, :1]), kernel, stride, padding, divisor_override=1)
    q = np.clip(average_round(sums.cpu().numpy().astype(np.int64), count.cpu().numpy().astype(np.int64)),
                qp.qmin, qp.qmax)
    return _on_grid(q - qp.zero_point, qp, x.device)


@torch.no_grad()
def requantize(x: torch.Tensor, in_qp: QParams, out_qp: QParams) -> torch.Tensor:
    """QUANTIZE q -> q' of a tensor on ``in_qp`` onto ``out_qp`` (intq.runtime.reference.quantize's Requantize):
    ``clamp(MBQM(q - Z_in, M0, n) + Z_out)``, ``(M0, n) = QuantizeMultiplier((double)S_in / (double)S_out)``."""
    s_in, s_out = np.float64(np.float32(in_qp.scale)), np.float64(np.float32(out_qp.scale))
    m0, shift = quantize_multiplier(float(s_in / s_out))
    q_minus_z = codes(x, in_qp).cpu().numpy().astype(np.int64)
    q = np.clip(multiply_by_quantized_multiplier(q_minus_z, m0, shift).astype(np.int64) + out_qp.zero_point,
                out_qp.qmin, out_qp.qmax)
    return _on_grid(q - out_qp.zero_point, out_qp, x.device)


@torch.no_grad()
def concat_input(x: torch.Tensor, in_qp: QParams, out_qp: QParams) -> torch.Tensor:
    """A uint8 CONCATENATION input on ``in_qp`` as the kernel moves it onto the output's ``out_qp``.

    Equal parameters: copied (``x``). Otherwise LiteRT's float32 ``ConcatenationWithScaling`` of the stored
    code (intq.scheme.requant.concat_rescale, the table intq.runtime.reference.concatenation indexes):
    ``clamp(TfLiteRound(q * scale + bias) + Z_out, 0, 255)`` with ``scale = S_in * (1 / S_out)``, ``bias =
    -Z_in * scale`` in float32. Fake quantization of the float value ``(q - Z_in) * S_in`` onto ``out_qp``
    rounds near-ties the other way on some codes (at most an output LSB), so the eval forward must not use it.
    """
    if np.float32(in_qp.scale) == np.float32(out_qp.scale) and in_qp.zero_point == out_qp.zero_point:
        return x
    stored = codes(x, in_qp).cpu().numpy().astype(np.int64) + in_qp.zero_point
    q = np.clip(concat_rescale(stored, in_qp.scale, in_qp.zero_point, out_qp.scale, out_qp.zero_point),
                out_qp.qmin, out_qp.qmax)
    return _on_grid(q - out_qp.zero_point, out_qp, x.device)


@torch.no_grad()
def add(a: torch.Tensor, b: torch.Tensor, qa: QParams, qb: QParams, out_qp: QParams, activation: str) -> torch.Tensor:
    """ADD (NumPy broadcasting) of tensors on the grids ``qa``, ``qb`` with the fused ``activation`` clamp."""
    multipliers = add_multipliers(qa.scale, qb.scale, out_qp.scale)
    raw = add_rescaled(codes(a, qa).cpu().numpy().astype(np.int64), codes(b, qb).cpu().numpy().astype(np.int64),
                       multipliers)
    lo, hi = activation_range(activation, out_qp.scale, out_qp.zero_point, out_qp.qmin, out_qp.qmax)
    q = np.clip(raw + out_qp.zero_point, lo, hi)
    return _on_grid(q - out_qp.zero_point, out_qp, a.device)
