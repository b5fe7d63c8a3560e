"""Quantization-aware training and PTQ calibration (Jacob et al. 2018 §3, App. C). Imports: torch, intq.scheme.

Public API:

    cfg = intq.QatConfig(weight_bits=8, activation_bits=8, quant_delay=0, freeze_bn_delay=None,
                         ema_decay=0.999, weight_narrow_range=True, scheme="uint8", per_channel=False)
    qmodel = intq.prepare_qat(float_model, example_inputs, cfg)   # torch.fx.GraphModule, trainable
    ... ordinary training loop on qmodel (qmodel.train(); loss.backward(); opt.step()) ...
    qmodel.eval(); graph = intq.convert(qmodel)                 # intq.Graph, uint8 inside

    graph = intq.convert(intq.calibrate(float_model, batches))   # PTQ baseline

* ``scheme="uint8"`` is the paper's (uint8 tensors, asymmetric per-tensor weights in [1, 255]);
  ``scheme="int8"`` is TFLite's int8 spec: int8 activations on the same grids (zero point - 128), symmetric
  int8 weights in [-(2^(n-1) - 1), 2^(n-1) - 1] with zero point 0, per output channel with
  ``per_channel=True``, and per-channel int32 biases. Both convert, run in intq and in LiteRT.
* ``example_inputs``: a tensor or tuple of tensors (NCHW images or [N, F] features) used for tracing and
  for the shapes convert records (the batch size of the exported graph; any batch runs). The model must be
  torch.fx-traceable; ops prepare cannot map raise intq.errors.UnsupportedOpError naming the op and the fx
  node. Each Conv2d, Linear and BatchNorm2d module must be called once (a module called at two places is
  refused: it would carry one fused activation and one pair of ranges). Supported: Conv2d (any groups: depthwise -> DEPTHWISE_CONV_2D, else CONV_2D; zero padding given as
  numbers, 'valid' or 'same') (+BatchNorm2d) (+ReLU/ReLU6/Hardtanh(0,6)), Linear(+ReLU/ReLU6) on a 2-D
  [N, features] input (prepare_qat runs ``example_inputs`` once, in eval mode, to check), add (+ReLU),
  torch.cat (int8 scheme: inputs on other grids requantized onto the concat's, intq.qat.requantize),
  MaxPool2d, AvgPool2d, global average pooling (AdaptiveAvgPool2d(1), mean over dims 2,3),
  flatten/view/reshape, Dropout, Identity.
* prepare_qat deep-copies the float model and keeps its train/eval mode; quantizers are created on the
  device of the model's parameters, so call it after ``model.to(device)`` (or move the result).
* Step counters are buffers inside each quantizer / fused layer, incremented once per *training-mode*
  forward, so ``quant_delay`` and ``freeze_bn_delay`` count training steps (forwards); TF semantics:
  step s (0-based) quantizes when s >= quant_delay, BN freezes when s >= freeze_bn_delay. They apply to
  weights and activations. Eval-mode forwards always quantize (once a range was observed) and never update
  ranges or BN statistics; there the fused layers, additions and average poolings compute what the integer
  kernels compute (intq.qat.integer_eval), so ``qmodel.eval()(x)`` equals the converted graph's output.
  All state is in ``state_dict`` and identical on every DDP rank; under an initialised torch.distributed,
  batch min/max are all_reduced (MIN/MAX) before the EMA update (every rank must run the same forwards, as
  DDP does).
* ``calibrate(model, batches, method="ema"|"minmax", config=None)`` accepts a float nn.Module (prepared
  internally in PTQ mode: BN folded with its running statistics, weights quantized with last-value min/max)
  or an already prepared module (calibrated in place, its BN frozen). It runs the batches in eval mode
  (dropout off) with every observer on and returns the eval-mode module ready for ``convert``.
  ``batches``: iterable of tensors or of (inputs, labels) tuples; at least one.
* convert raises intq.errors.QuantizationError naming the fx node if a quantizer never saw data.

Switches (act on every quantizer/fused layer inside ``model``; stored in buffers):
    freeze_bn(model)            use moving BN statistics from now on (as after freeze_bn_delay)
    freeze_observers(model)     stop updating activation ranges (EMA)
    unfreeze_observers(model)
    enable_fake_quant(model, on=True)   True: quantize now (ignore quant_delay); False: float passthrough
                                        (e.g. to evaluate the float model); None: follow quant_delay again
"""
from __future__ import annotations

from intq.qat.config import QatConfig
from intq.qat.prepare import calibrate, prepare_qat
from intq.qat.switches import enable_fake_quant, freeze_bn, freeze_observers, unfreeze_observers

__all__ = ["QatConfig", "prepare_qat", "calibrate", "freeze_bn", "freeze_observers", "unfreeze_observers",
           "enable_fake_quant"]
