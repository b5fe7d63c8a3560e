"""Concat inputs moved onto the concat's grid: QRequantize. Imports: torch, intq.qat.

TFLite's int8 CONCATENATION needs every input's scale and zero point equal to its output's (and MAX_POOL_2D /
AVERAGE_POOL_2D keep their input's), so in ``scheme="int8"`` prepare_qat puts a QRequantize before each
concat input that lies on another quantizer's grid (a pooled tensor, the model input, a tensor with other
users, another concat); convert lowers it to QUANTIZE int8 -> int8, TFLite's ``Requantize``:
``q' = clamp(MBQM(q - Z_in, M0, n) + Z_out)`` with ``(M0, n) = QuantizeMultiplier((double)S_in / S_out)``.

The uint8 CONCATENATION rescales such inputs itself, with LiteRT's float32 ``ConcatenationWithScaling``
(``TfLiteRound(q * (S_in * (1 / S_out)) - Z_in * ...)``), which rounds near-ties differently from fake
quantization of the float value. A QRequantize whose target quantizer is uint8 (``target.signed`` False)
simulates that formula in eval (intq.qat.integer_eval.concat_input); convert must then lower it to nothing
(the CONCATENATION takes the source tensor with its own parameters and builds its table).

Training and calibration: as a concat producer quantized onto the concat's range (``ActQuant(...,
concat_input=True)``): float while that range is observed, else fake-quantized onto it. Eval with both
quantizers active: the integer requantization (intq.qat.integer_eval.requantize, int8) or the uint8
CONCATENATION's rescaling (intq.qat.integer_eval.concat_input), so the eval model equals the converted graph.
"""
from __future__ import annotations

import torch

from intq.qat import integer_eval
from intq.qat.observers import ActQuant


class QRequantize(torch.nn.Module):
    """A tensor on ``source``'s grid moved onto ``target``'s (the concat's quantizer), linked by prepare_qat."""

    def __init__(self):
        super().__init__()
        self._quant: tuple[ActQuant, ...] = ()

    def link(self, source: ActQuant, target: ActQuant) -> None:
        """The input's and the concat's quantizers (references, not submodules)."""
        object.__setattr__(self, "_quant", (source, target))

    @property
    def rescaled_by_concat(self) -> bool:
        """True where the graph has no QUANTIZE for this module: a uint8 concat (its CONCATENATION rescales)."""
        return bool(self._quant) and not self._quant[1].signed

    @property
    def target(self) -> ActQuant | None:
        """The quantizer whose grid the output lies on (None before prepare_qat links it)."""
        return self._quant[1] if self._quant else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._quant:
            return x
        source, target = self._quant
        if not self.training and not target.force_observe and source.quant_active() and target.quant_active():
            if self.rescaled_by_concat:
                return integer_eval.concat_input(x, source.code_qparams(), target.code_qparams())
            return integer_eval.requantize(x, source.code_qparams(), target.code_qparams())
        return target(x, observe=False, concat_input=True)
