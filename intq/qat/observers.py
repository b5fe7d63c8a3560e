"""Range observers: EMA activation quantizer module and last-value weight ranges. Imports: torch, intq.qat.

All state lives in buffers (state_dict, DDP broadcast): ``min_val``/``max_val`` (float32), ``step``
(int64, training forwards seen), ``initialized``, ``observer_enabled``, ``fake_quant_mode``
(0 = follow quant_delay, 1 = forced on, 2 = forced off).
"""
from __future__ import annotations

import torch
import torch.distributed as dist

from intq.qat.fake_quant import fake_quant, qparams_for
from intq.errors import QuantizationError
from intq.scheme.qparams import QParams

MODE_DELAY, MODE_ON, MODE_OFF = 0, 1, 2


def reduce_min_max(lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """all_reduce MIN / MAX across ranks when torch.distributed is initialised, so ranks keep equal ranges."""
    if dist.is_available() and dist.is_initialized():
        lo, hi = lo.clone(), hi.clone()
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    return lo, hi


def weight_qparams(w: torch.Tensor, num_bits: int, narrow_range: bool) -> QParams:
    """Last-value min/max of the (folded) weights, nudged (TF ``LastValueQuantize``, paper §3.1)."""
    w = w.detach()
    return qparams_for(float(w.min()), float(w.max()), num_bits, narrow_range)


class ActQuant(torch.nn.Module):
    """Activation fake quant with an EMA of batch min/max (paper §3.1; TF ``MovingAvgQuantize``).

    Training forward with ``observe=True``: step += 1; batch min/max widened to include 0, all_reduced,
    then ``v <- decay * v + (1 - decay) * batch`` (the first batch initialises v, no zero-debias).
    Quantizes when step > quant_delay (TF: global_step >= quant_delay, counted before this step's
    increment), or always in eval once initialised. ``observe=False`` is a shared use (concat producers,
    average pooling): it reads the range and never updates it. ``concat_input=True`` marks a concat
    producer quantized onto the concat's range: while that range is being observed (training, calibration)
    the producer passes through in float, so values outside the current range still reach the concat's
    observation and can widen it (the concat's own fake quant then quantizes them).
    """

    def __init__(self, num_bits: int = 8, ema_decay: float = 0.999, quant_delay: int = 0):
        super().__init__()
        self.num_bits = int(num_bits)
        self.ema_decay = float(ema_decay)
        self.quant_delay = int(quant_delay)
        self.minmax_calibration = False  # plain attributes set only inside intq.qat.calibrate
        self.register_buffer("min_val", torch.zeros((), dtype=torch.float32))
        self.register_buffer("max_val", torch.zeros((), dtype=torch.float32))
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.uint8))
        self.register_buffer("observer_enabled", torch.ones((), dtype=torch.uint8))
        self.register_buffer("fake_quant_mode", torch.zeros((), dtype=torch.uint8))
        self.force_observe = False
        self.label = "activation quantizer"   # prepare_qat names it and the fx node it follows (errors)
        self.signed = False                    # int8 scheme: the graph stores q - 128 (prepare_qat sets it)

    def qparams(self) -> QParams:
        """Nudged parameters of the current range (the ones convert exports)."""
        if not bool(self.initialized):
            raise QuantizationError("activation quantizer has never observed data: train or calibrate first")
        return qparams_for(float(self.min_val), float(self.max_val), self.num_bits)

    def code_qparams(self) -> QParams:
        """qparams() in the graph's code space: unchanged for uint8, shifted by -128 for int8 tensors."""
        qp = self.qparams()
        if not self.signed:
            return qp
        return QParams(qp.scale, qp.zero_point - 128, qp.qmin - 128, qp.qmax - 128)

    @torch.no_grad()
    def observe(self, x: torch.Tensor) -> None:
        lo = torch.clamp(x.detach().min().to(torch.float32), max=0.0)
        hi = torch.clamp(x.detach().max().to(torch.float32), min=0.0)
        lo, hi = reduce_min_max(lo, hi)
        if not bool(torch.isfinite(lo) & torch.isfinite(hi)):
            raise QuantizationError(f"{self.label} observed non-finite values (min {float(lo)}, max {float(hi)}): "
                                    "NaN or inf in the inputs or in the model's float computation")
        if not bool(self.initialized):
            self.min_val.copy_(lo)
            self.max_val.copy_(hi)
            self.initialized.fill_(1)
        elif self.minmax_calibration:
            self.min_val.copy_(torch.minimum(self.min_val, lo))
            self.max_val.copy_(torch.maximum(self.max_val, hi))
        else:
            d = self.ema_decay
            self.min_val.copy_(self.min_val * d + lo * (1.0 - d))
            self.max_val.copy_(self.max_val * d + hi * (1.0 - d))

    def quant_active(self) -> bool:
        mode = int(self.fake_quant_mode)
        if mode == MODE_OFF or not bool(self.initialized):
            return False
        if mode == MODE_ON or not self.training:
            return True
        return int(self.step) > self.quant_delay

    def observing(self) -> bool:
        """Whether forwards in the current mode update the range."""
        return (self.training or self.force_observe) and bool(self.observer_enabled)

    def forward(self, x: torch.Tensor, observe: bool = True, concat_input: bool = False) -> torch.Tensor:
        if observe and (self.training or self.force_observe):
            if self.training:
                self.step += 1
            if bool(self.observer_enabled):
                self.observe(x)
        if not self.quant_active() or (concat_input and self.observing()):
            return x
        return fake_quant(x, self.qparams())

    def extra_repr(self) -> str:
        return f"bits={self.num_bits}, range=[{float(self.min_val):.4g}, {float(self.max_val):.4g}]"
