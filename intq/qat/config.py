"""QatConfig: the one flat, frozen set of training-quantization knobs. Imports: stdlib, intq.errors."""
from __future__ import annotations

from dataclasses import dataclass

from intq.errors import QuantizationError


@dataclass(frozen=True)
class QatConfig:
    """Knobs of simulated quantization (paper §3, tf.contrib.quantize ``experimental_create_training_graph``)."""

    # 8/8 is the paper's deployment scheme (uint8 kernels); 2..8 are simulated the same way.
    weight_bits: int = 8
    activation_bits: int = 8
    # 0 = quantize from the first step: right for fine-tuning a trained float model (TF's default).
    # From scratch, set it to roughly the steps the float model needs to converge (paper: 50k..2M).
    quant_delay: int = 0
    # None = never freeze automatically (TF default); call intq.qat.freeze_bn or set a step count
    # close to convergence, larger than quant_delay.
    freeze_bn_delay: int | None = None
    # Paper / TF MovingAvgQuantize decay (PyTorch uses 0.99); smooths ranges over ~1000 steps.
    ema_decay: float = 0.999
    # Paper: weights in [-127, 127] (uint8 [1, 255]) so int8 pair products fit int16 accumulation.
    weight_narrow_range: bool = True
    # "uint8": the paper's scheme (uint8 activations, asymmetric per-tensor uint8 weights).
    # "int8": TFLite's int8 spec (int8 activations on the same grid, zero point - 128; symmetric int8 weights
    # in [-(2^(n-1) - 1), 2^(n-1) - 1] with zero point 0, per output channel when per_channel).
    scheme: str = "uint8"
    # Per-output-channel weight scales; the int8 scheme only (the uint8 kernels are per-tensor).
    per_channel: bool = False
    # None: keep each BatchNorm's own momentum (moving mean/var update rate).
    bn_momentum: float | None = None
    # Not a field: activation ranges start from the first observed batch (no TF [0, 6] / [-6, 6] init,
    # which the 0.999 EMA would need thousands of steps to forget).

    def __post_init__(self):
        for name in ("weight_bits", "activation_bits"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 2 <= v <= 8:
                raise QuantizationError(f"QatConfig.{name} must be an int in 2..8, got {v!r}")
        if not isinstance(self.quant_delay, int) or self.quant_delay < 0:
            raise QuantizationError(f"QatConfig.quant_delay must be an int >= 0, got {self.quant_delay!r}")
        if self.freeze_bn_delay is not None and (not isinstance(self.freeze_bn_delay, int) or self.freeze_bn_delay < 0):
            raise QuantizationError(f"QatConfig.freeze_bn_delay must be None or an int >= 0, got {self.freeze_bn_delay!r}")
        if not 0.0 <= float(self.ema_decay) < 1.0:
            raise QuantizationError(f"QatConfig.ema_decay must be in [0, 1), got {self.ema_decay!r}")
        if self.scheme not in ("uint8", "int8"):
            raise QuantizationError(f"QatConfig.scheme must be 'uint8' or 'int8', got {self.scheme!r}")
        if self.per_channel and self.scheme != "int8":
            raise QuantizationError("QatConfig.per_channel needs scheme='int8': the uint8 scheme is per-tensor only")
        if self.scheme == "int8" and self.activation_bits != 8:
            raise QuantizationError("QatConfig.scheme='int8' needs activation_bits=8 (int8 tensors)")
