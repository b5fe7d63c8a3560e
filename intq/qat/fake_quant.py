"""Fake quantization q(r; a, b, n) as a torch autograd function with a straight-through estimator.

Imports: torch, numpy, intq.scheme. Paper eq. 12 with TF's nudged range (intq.scheme.choose_qparams,
the very code the integer export uses) and TFLite's rounding (``TfLiteRound``: half away from zero).
"""
from __future__ import annotations

import numpy as np
import torch

from intq.scheme.qparams import QParams, choose_qparams


def qparams_for(rmin: float, rmax: float, num_bits: int, narrow_range: bool = False) -> QParams:
    """Nudged uint8-style (unsigned) parameters for the range [rmin, rmax] (TF ``Nudge``; 0 widened in)."""
    return choose_qparams(float(rmin), float(rmax), num_bits, narrow_range)


def round_half_away_t(x: torch.Tensor) -> torch.Tensor:
    """Round ties away from zero (``std::round``); torch.round rounds ties to even.

    trunc(x) plus one step away from zero when the (exact) fractional part is >= 0.5, as
    intq.scheme.round_half_away does: ``floor(|x| + 0.5)`` would round 0.49999997f up.
    """
    t = torch.trunc(x)
    return t + torch.sign(x) * (torch.abs(x - t) >= 0.5).to(x.dtype)


def quantize_t(x: torch.Tensor, qp: QParams) -> torch.Tensor:
    """Integer codes clamp(round_half_away(x / S) + Z, qmin, qmax) as float32 (equals intq.scheme.quantize)."""
    scale = torch.tensor(qp.scale, dtype=torch.float32, device=x.device)
    q = round_half_away_t(x.to(torch.float32) / scale) + qp.zero_point
    return torch.clamp(q, qp.qmin, qp.qmax)


class _FakeQuant(torch.autograd.Function):
    """Forward: S * (quantize(x) - Z) (float32). Backward: STE, gradient 1 inside [nudged_min, nudged_max]."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax, nmin, nmax):
        q = torch.clamp(round_half_away_t(x / scale) + zero_point, qmin, qmax)
        ctx.save_for_backward((x >= nmin) & (x <= nmax))
        return (q - zero_point) * scale

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask.to(grad.dtype), None, None, None, None, None, None


def fake_quant(x: torch.Tensor, qp: QParams) -> torch.Tensor:
    """Simulated quantization of float32 ``x`` onto the grid of ``qp`` (TF FakeQuantWithMinMaxVars grid).

    Values round with ``round_half_away(x / S) + Z`` exactly as TFLite's QUANTIZE op does, so a model
    input fake-quantized here equals DEQUANTIZE(QUANTIZE(x)) of the exported graph bit for bit. TF's own
    functor rounds ``floor((clamp(x) - nudged_min) / S + 0.5)``, which can differ on exact ties only.
    """
    x = x.to(torch.float32)
    scale = torch.tensor(qp.scale, dtype=torch.float32, device=x.device)
    return _FakeQuant.apply(x, scale, float(qp.zero_point), float(qp.qmin), float(qp.qmax),
                            qp.nudged_min, qp.nudged_max)


class _FakeQuantSymmetric(torch.autograd.Function):
    """Forward: S * clamp(round(w / S), -qmax, qmax), S broadcast per channel. Backward: STE inside +-qmax*S."""

    @staticmethod
    def forward(ctx, w, scale, qmax):
        q = torch.clamp(round_half_away_t(w / scale), -qmax, qmax)
        ctx.save_for_backward((w >= -qmax * scale) & (w <= qmax * scale))
        return q * scale

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask.to(grad.dtype), None, None


def fake_quant_symmetric(w: torch.Tensor, scales: np.ndarray, num_bits: int) -> torch.Tensor:
    """Symmetric narrow-range fake quant of float32 ``w`` (TFLite's int8 weights, zero point 0).

    ``scales``: float32 [C] along dim 0 (per output channel) or [1] (per tensor), from
    intq.scheme.qparams.symmetric_scales; codes are ``round_half_away(w / S)`` in float32, as the export does.
    """
    w = w.to(torch.float32)
    shape = (-1,) + (1,) * (w.dim() - 1) if np.size(scales) > 1 else ()
    s = torch.from_numpy(np.asarray(scales, np.float32).reshape(shape if shape else ())).to(w.device)
    return _FakeQuantSymmetric.apply(w, s, float((1 << (num_bits - 1)) - 1))
