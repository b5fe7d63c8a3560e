"""Integer constants of fused layers: narrow-range weights and int32 biases. Imports: numpy, torch, intq.

The weights are the fused layer's ``weight_codes()``: folded and quantized with the scales the fake-quant
forward uses, so the exported codes are the training-time fake-quant codes (uint8 scheme: asymmetric uint8,
per tensor; int8 scheme: symmetric int8, zero point 0, per output channel or per tensor). Biases: int32 =
round_half_away(b / (S_in * S_w)), zero point 0 (paper §2.4, eq. 10 scale), per channel with the weights.
"""
from __future__ import annotations

import numpy as np
import torch

from intq.ir.tensor import Quantization
from intq.scheme.requant import quantize_bias


def quantized_weight(layer, axis: int) -> tuple[np.ndarray, Quantization]:
    """(codes in torch layout as uint8 or int8, their quantization along ``axis`` of the *stored* layout)."""
    wc = layer.weight_codes()
    dtype = np.int8 if layer.scheme == "int8" else np.uint8
    return wc.codes.astype(dtype), Quantization(wc.scales, wc.zero_points, axis if wc.scales.size > 1 else 0)


@torch.no_grad()
def quantized_bias(layer, s_in: float, s_w) -> tuple[np.ndarray, Quantization]:
    """(int32 bias, its quantization with scale S_in*S_w, per channel when S_w is) of a QConv2d / QLinear."""
    _, b = layer.folded_weight_and_bias()
    q, scale = quantize_bias(b.detach().cpu().numpy(), s_in, s_w)
    return q, Quantization(scale, np.zeros(scale.size, np.int64), 0)


def ohwi(w_oihw: np.ndarray) -> np.ndarray:
    """torch OIHW conv filter -> TFLite OHWI."""
    return np.ascontiguousarray(w_oihw.transpose(0, 2, 3, 1))


def depthwise(w_oihw: np.ndarray) -> np.ndarray:
    """torch depthwise filter [C*M, 1, kh, kw] -> TFLite [1, kh, kw, C*M]."""
    return np.ascontiguousarray(w_oihw.transpose(1, 2, 3, 0))


def conv_padding(in_hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
                 p: tuple[int, int] | str) -> tuple[str, tuple[int, int] | None]:
    """'VALID', 'SAME' or ('VALID', explicit symmetric pad) for torch's zero padding ``p``.

    TFLite SAME pads total = max((out - 1) * s + (k - 1) * d + 1 - in, 0), before = total // 2 with
    out = ceil(in / s); it equals torch's symmetric padding only when both give the same before-pad and size.
    torch's ``padding='same'`` (stride 1 only) pads total = (k - 1) * d, before = total // 2 and the odd one
    after, which is TFLite SAME at stride 1 (asymmetric too); ``'valid'`` is no padding.
    """
    if p == "same" and tuple(s) == (1, 1):
        return "SAME", None
    if p == "valid" or p == (0, 0):
        return "VALID", None
    if isinstance(p, str):
        raise ValueError(f"conv_padding: padding {p!r} needs 'valid', or 'same' at stride 1")
    same = True
    for i in range(2):
        eff = (k[i] - 1) * d[i] + 1
        out_t = (in_hw[i] + 2 * p[i] - eff) // s[i] + 1
        out_s = -(-in_hw[i] // s[i])
        total = max((out_s - 1) * s[i] + eff - in_hw[i], 0)
        if out_t != out_s or total // 2 != p[i]:
            same = False
    return ("SAME", None) if same else ("VALID", p)
