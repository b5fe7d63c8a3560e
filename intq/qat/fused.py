"""Fused trainable layers: Conv2d(+BatchNorm2d)(+ReLU/ReLU6) and Linear(+ReLU/ReLU6). Imports: torch, intq.qat.

Weights are fake-quantized (last-value min/max, narrow range) after BN folding, as in the paper's
Appendix C / tf.contrib.quantize ``FoldBatchNorms`` (notes B.2):

* folded weight ``w_fold = w * gamma / sqrt(running_var + eps)`` (quantized weights always use the moving sigma);
* before BN freeze (training): ``y = conv(x, fq(w_fold))``; the BN layer then runs on ``y / sf`` with batch
  statistics, i.e. ``out = y * sigma_mv / sigma_B + beta - gamma * mu_B / sigma_B`` -- TF's correction form
  (``correction_recip * conv + offset``). As in torch.ao ``ConvBn2d._forward_approximate`` the batch statistics
  come from the quantized-weight conv (TF measures them on a second, float conv); gamma == 0 is unsupported;
* after freeze (``step > freeze_bn_delay`` or ``freeze_bn``) and in eval: ``out = conv(x, fq(w_fold)) + b_fold``
  with ``b_fold = beta + (b - running_mean) * sf`` and the running statistics no longer updated -- exactly the
  integer inference graph.

In eval, once prepare_qat has linked the layer to its input and output quantizers and both quantize, the
forward computes what the integer kernel computes (int32 bias, fixed-point requantization, clamp:
intq.qat.integer_eval), so the eval model and its converted graph give equal outputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from intq.qat import integer_eval
from intq.qat.fake_quant import fake_quant, fake_quant_symmetric
from intq.qat.observers import MODE_OFF, MODE_ON, ActQuant, weight_qparams
from intq.scheme.qparams import quantize, round_half_away, symmetric_scales
from intq.scheme.requant import conv_multipliers, quantize_bias


@dataclass(frozen=True)
class WeightCodes:
    """Integer weights of a fused layer as the graph stores them (torch layout, output channels on dim 0).

    uint8 scheme: codes in [1, 255] (narrow), one scale and zero point. int8 scheme: signed codes in
    [-(2^(n-1) - 1), 2^(n-1) - 1], zero point 0, one scale per output channel (per_channel) or one.
    """

    codes: np.ndarray          # int64
    scales: np.ndarray         # float32 [C] or [1]
    zero_points: np.ndarray    # int64, same size as scales

ACTIVATIONS = ("NONE", "RELU", "RELU6")


def _activate(y: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "RELU":
        return F.relu(y)
    if activation == "RELU6":
        return F.hardtanh(y, 0.0, 6.0)
    return y


class _QuantLayer(torch.nn.Module):
    """Shared buffers and step logic of the fused layers."""

    def _init_quant(self, activation: str, weight_bits: int, narrow: bool, quant_delay: int,
                    freeze_bn_delay: int | None, scheme: str = "uint8", per_channel: bool = False):
        self.activation = activation
        self.weight_bits = int(weight_bits)
        self.weight_narrow_range = bool(narrow)
        self.scheme = scheme                       # "uint8": asymmetric per-tensor; "int8": symmetric weights
        self.per_channel = bool(per_channel)
        self.quant_delay = int(quant_delay)
        self.freeze_bn_delay = freeze_bn_delay
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))
        self.register_buffer("bn_frozen", torch.zeros((), dtype=torch.uint8))
        self.register_buffer("fake_quant_mode", torch.zeros((), dtype=torch.uint8))
        self._io_quant: tuple[ActQuant, ...] = ()

    def link(self, input_quant: ActQuant, output_quant: ActQuant) -> None:
        """The quantizers whose grids this layer reads and writes (references, not submodules)."""
        object.__setattr__(self, "_io_quant", (input_quant, output_quant))

    def _integer_io(self):
        """(input qparams, output qparams) when the eval forward should be the integer one, else None."""
        if self.training or not self._io_quant or not self.quant_active():
            return None
        qi, qo = self._io_quant
        if qo.force_observe or not (qi.quant_active() and qo.quant_active()):
            return None   # calibrating this range, or float mode: keep the float forward
        return qi.code_qparams(), qo.code_qparams()

    def _integer_forward(self, x: torch.Tensor, io, op) -> torch.Tensor:
        (qi, qo), wc = io, self.weight_codes()
        _, b = self.folded_weight_and_bias()
        bias, _ = quantize_bias(b.detach().cpu().numpy(), qi.scale, wc.scales)
        channels = wc.codes.shape[0]
        # as the kernels' prepare: uint8 layers and FULLY_CONNECTED with one weight scale (what the graph
        # carries: a per-channel Linear with one output exports one scale) take the float32 product
        legacy = self.scheme == "uint8" or (isinstance(self, QLinear) and np.size(wc.scales) == 1)
        multipliers = conv_multipliers(qi.scale, wc.scales, qo.scale, channels, legacy)
        zp = wc.zero_points.reshape((-1,) + (1,) * (wc.codes.ndim - 1))
        return integer_eval.fused_layer(x, qi, wc.codes - zp, bias, multipliers, qo, self.activation, op)

    def quant_active(self) -> bool:
        mode = int(self.fake_quant_mode)
        if mode == MODE_OFF:
            return False
        if mode == MODE_ON or not self.training:
            return True
        return int(self.step) > self.quant_delay

    def _tick(self) -> None:
        if self.training:
            self.step += 1
            if self.freeze_bn_delay is not None and int(self.step) > self.freeze_bn_delay:
                self.bn_frozen.fill_(1)

    def _symmetric_scales(self, w: torch.Tensor) -> np.ndarray:
        a = w.detach().abs()
        m = a.flatten(1).amax(dim=1) if self.per_channel else a.amax().reshape(1)
        return symmetric_scales(m.cpu().numpy().astype(np.float32), self.weight_bits)

    def quantized_weight(self, w: torch.Tensor) -> torch.Tensor:
        """Fake-quantized weights (last-value ranges) while quantization is active, else ``w``."""
        if not self.quant_active():
            return w
        if self.scheme == "int8":
            return fake_quant_symmetric(w, self._symmetric_scales(w), self.weight_bits)
        return fake_quant(w, weight_qparams(w, self.weight_bits, self.weight_narrow_range))

    @torch.no_grad()
    def weight_codes(self) -> WeightCodes:
        """The integer weights the converted graph stores (from the moving-statistics fold, as in eval)."""
        w, _ = self.folded_weight_and_bias()
        w32 = w.detach().cpu().numpy().astype(np.float32)
        if self.scheme == "int8":
            scales = self._symmetric_scales(w)
            qmax = (1 << (self.weight_bits - 1)) - 1
            shape = (-1,) + (1,) * (w32.ndim - 1)
            codes = np.clip(round_half_away(w32 / scales.reshape(shape)), -qmax, qmax).astype(np.int64)
            return WeightCodes(codes, scales, np.zeros(scales.size, np.int64))
        qp = weight_qparams(w, self.weight_bits, self.weight_narrow_range)
        return WeightCodes(quantize(w32, qp, np.int64), np.array([qp.scale], np.float32),
                           np.array([qp.zero_point], np.int64))


class QConv2d(_QuantLayer):
    """Conv2d (groups allowed) with optional BatchNorm2d folded in, activation fused, weights fake-quantized."""

    def __init__(self, conv: torch.nn.Conv2d, bn: torch.nn.BatchNorm2d | None, activation: str, *,
                 weight_bits: int = 8, narrow_range: bool = True, quant_delay: int = 0,
                 freeze_bn_delay: int | None = None, scheme: str = "uint8", per_channel: bool = False):
        super().__init__()
        self.conv = conv
        self.bn = bn
        self._init_quant(activation, weight_bits, narrow_range, quant_delay, freeze_bn_delay, scheme, per_channel)

    def _scale_factor(self) -> torch.Tensor:
        bn = self.bn
        return bn.weight / torch.sqrt(bn.running_var + bn.eps)

    def folded_weight_and_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(w_fold OIHW, b_fold) with the moving BN statistics (what inference uses)."""
        conv = self.conv
        b = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels, device=conv.weight.device)
        if self.bn is None:
            return conv.weight, b
        sf = self._scale_factor()
        w = conv.weight * sf.reshape(-1, 1, 1, 1)
        return w, self.bn.bias + (b - self.bn.running_mean) * sf

    def _conv(self, x, w, b):
        c = self.conv
        return F.conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups)

    def _conv_codes(self, x, w):
        return self._conv(x, w, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._tick()
        io = self._integer_io()
        if io is not None:
            return self._integer_forward(x, io, self._conv_codes)
        bn = self.bn
        if bn is None or not self.training or bool(self.bn_frozen):
            w, b = self.folded_weight_and_bias()
            return _activate(self._conv(x, self.quantized_weight(w), b), self.activation)
        sf = self._scale_factor()
        w_fold = self.conv.weight * sf.reshape(-1, 1, 1, 1)
        y = self._conv(x, self.quantized_weight(w_fold), None) / sf.reshape(1, -1, 1, 1)
        if self.conv.bias is not None:
            y = y + self.conv.bias.reshape(1, -1, 1, 1)
        return _activate(bn(y), self.activation)


class QLinear(_QuantLayer):
    """Linear with activation fused and weights fake-quantized (no BN)."""

    def __init__(self, linear: torch.nn.Linear, activation: str, *, weight_bits: int = 8, narrow_range: bool = True,
                 quant_delay: int = 0, freeze_bn_delay: int | None = None, scheme: str = "uint8",
                 per_channel: bool = False):
        super().__init__()
        self.linear = linear
        self._init_quant(activation, weight_bits, narrow_range, quant_delay, freeze_bn_delay, scheme, per_channel)

    def folded_weight_and_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        lin = self.linear
        b = lin.bias if lin.bias is not None else torch.zeros(lin.out_features, device=lin.weight.device)
        return lin.weight, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._tick()
        io = self._integer_io()
        if io is not None:
            return self._integer_forward(x, io, F.linear)
        w, b = self.folded_weight_and_bias()
        return _activate(F.linear(x, self.quantized_weight(w), b), self.activation)
