"""Residual addition in a prepared model: QAdd. Imports: torch, intq.qat.

prepare_qat replaces each tensor ``a + b`` / ``torch.add(a, b)`` / ``a.add(b)`` by a QAdd, the op convert
lowers to ADD. Training and float mode add in float (the following quantizer fake-quantizes the sum).
In eval, once prepare_qat has linked it to the quantizers of both inputs and of its output and all three
quantize, it returns what the integer ADD kernel computes (both inputs rescaled to ``2 max(s1, s2) / 2^20``,
fixed-point requantization, the fused ReLU/ReLU6 clamp: intq.qat.integer_eval.add).
"""
from __future__ import annotations

import torch

from intq.qat import integer_eval
from intq.qat.observers import ActQuant


class QAdd(torch.nn.Module):
    """``a + b`` (broadcasting), with an eval-mode integer forward (see module docstring)."""

    def __init__(self):
        super().__init__()
        self._quant: tuple = ()

    def link(self, quant_a: ActQuant, quant_b: ActQuant, quant_out: ActQuant, activation: str) -> None:
        """Input and output quantizers (references, not submodules) and the fused activation after the add."""
        object.__setattr__(self, "_quant", (quant_a, quant_b, quant_out, activation))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if not self.training and self._quant:
            qa, qb, qo, activation = self._quant
            if not qo.force_observe and qa.quant_active() and qb.quant_active() and qo.quant_active():
                return integer_eval.add(a, b, qa.code_qparams(), qb.code_qparams(), qo.code_qparams(), activation)
        return a + b
