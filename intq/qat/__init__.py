"""Quantization-aware training and PTQ calibration (Jacob et al. 2018 §3, App. C). Imports: torch, intq.scheme.

Public API (H5 codes against exactly this):

    cfg = intq.QatConfig(weight_bits=8, activation_bits=8, quant_delay=0, freeze_bn_delay=None,
                         ema_decay=0.999, weight_narrow_range=True)
    qmodel = intq.prepare_qat(float_model, example_inputs, cfg)   # torch.fx.GraphModule, trainable
    ... ordinary training loop on qmodel (qmodel.train(); loss.backward(); opt.step()) ...
    qmodel.eval(); graph = intq.convert(qmodel)                 # intq.Graph, uint8 inside

    graph = intq.convert(intq.calibrate(float_model, batches))   # PTQ baseline

* ``example_inputs``: a tensor or tuple of tensors (NCHW images or [N, F] features) used for tracing and
  shapes. The model must be torch.fx-traceable; ops it cannot map raise intq.errors.UnsupportedOpError
  naming the op and the fx node.
* Step counters are buffers inside each quantizer / fused layer, incremented once per *training-mode*
  forward, so ``quant_delay`` and ``freeze_bn_delay`` count training steps (forwards). They travel in
  ``state_dict`` and are the same on every DDP rank; under an initialised torch.distributed, batch
  min/max are all_reduced (MIN/MAX) before the EMA update.
* ``calibrate(model, batches, method="ema"|"minmax")`` accepts a float nn.Module (prepared internally in
  PTQ mode: BN folded with running statistics from the first step, weights quantized, no training) or an
  already prepared module. It runs the batches in eval mode with observers on and returns the module
  ready for ``convert``. ``batches``: iterable of tensors or of (inputs, labels) tuples.

Switches (all act on every quantizer/fused layer inside ``model``, stored in buffers):
    freeze_bn(model)            use moving BN statistics from now on (as after freeze_bn_delay)
    freeze_observers(model)     stop updating activation ranges (EMA)
    unfreeze_observers(model)
    enable_fake_quant(model, on=True)   force quantization on (ignore quant_delay) / off (float passthrough)
"""
from __future__ import annotations

from intq.qat.config import QatConfig
from intq.qat.prepare import calibrate, prepare_qat
from intq.qat.switches import enable_fake_quant, freeze_bn, freeze_observers, unfreeze_observers

__all__ = ["QatConfig", "prepare_qat", "calibrate", "freeze_bn", "freeze_observers", "unfreeze_observers",
           "enable_fake_quant"]
