"""int8 CONCATENATION inputs moved onto the concat's grid: QRequantize. Imports: torch, intq.qat.

TFLite's int8 CONCATENATION needs every input's scale and zero point equal to its output's (and MAX_POOL_2D /
AVERAGE_POOL_2D keep their input's), so in ``scheme="int8"`` prepare_qat puts a QRequantize before each
concat input that lies on another quantizer's grid (a pooled tensor, the model input, a tensor with other
users, another concat); convert lowers it to QUANTIZE int8 -> int8, TFLite's ``Requantize``:
``q' = clamp(MBQM(q - Z_in, M0, n) + Z_out)`` with ``(M0, n) = QuantizeMultiplier((double)S_in / S_out)``.

Training and calibration: as a concat producer quantized onto the concat's range (``ActQuant(...,
concat_input=True)``): float while that range is observed, else fake-quantized onto it. Eval with both
quantizers active: the integer requantization (intq.qat.integer_eval.requantize), so the eval model equals
the converted graph. The uint8 scheme needs none: its CONCATENATION rescales inputs itself.
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
    def target(self) -> ActQuant | None:
        """The quantizer whose grid the output lies on (None before prepare_qat links it)."""
        return self._quant[1] if self._quant else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._quant:
            return x
        source, target = self._quant
        if not self.training and not target.force_observe and source.quant_active() and target.quant_active():
            return integer_eval.requantize(x, source.code_qparams(), target.code_qparams())
        return target(x, observe=False, concat_input=True)
