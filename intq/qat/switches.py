"""Training-schedule switches over every quantizer / fused layer of a prepared model. Imports: torch, intq.qat."""
from __future__ import annotations

import torch

from intq.qat.fused import _QuantLayer
from intq.qat.observers import MODE_DELAY, MODE_OFF, MODE_ON, ActQuant


def freeze_bn(model: torch.nn.Module) -> torch.nn.Module:
    """Use moving BN statistics and stop updating them from now on (what ``freeze_bn_delay`` does)."""
    for m in model.modules():
        if isinstance(m, _QuantLayer):
            m.bn_frozen.fill_(1)
    return model


def freeze_observers(model: torch.nn.Module) -> torch.nn.Module:
    """Stop updating activation ranges; the current ranges are the ones exported."""
    for m in model.modules():
        if isinstance(m, ActQuant):
            m.observer_enabled.fill_(0)
    return model


def unfreeze_observers(model: torch.nn.Module) -> torch.nn.Module:
    """Resume EMA updates of activation ranges."""
    for m in model.modules():
        if isinstance(m, ActQuant):
            m.observer_enabled.fill_(1)
    return model


def enable_fake_quant(model: torch.nn.Module, on: bool | None = True) -> torch.nn.Module:
    """on=True: quantize now regardless of quant_delay; False: float passthrough; None: follow quant_delay."""
    mode = MODE_DELAY if on is None else (MODE_ON if on else MODE_OFF)
    for m in model.modules():
        if isinstance(m, (ActQuant, _QuantLayer)):
            m.fake_quant_mode.fill_(mode)
    return model
