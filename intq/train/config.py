"""TrainConfig: the one flat set of `intq train` knobs. Imports: stdlib."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

MODES = ("float", "qat", "ptq")


@dataclass
class TrainConfig:
    """What `intq train` does; every default has a reason in its comment."""

    model: str = "mobilenet_v1"
    data: str = "digits"            # embedded, so a bare `intq train` works offline
    data_dir: str | None = None
    mode: str = "qat"               # float | qat (fake quant while training) | ptq (float, then calibrate)
    out: str = "intq-train-out"
    epochs: int = 5
    batch_size: int = 64
    lr: float = 2e-3                # Adam; small models on small data converge in a few epochs
    weight_decay: float = 0.0
    weight_bits: int = 8
    activation_bits: int = 8
    quant_delay: int = 0            # steps before activations are quantized (paper: after float converges)
    freeze_bn_delay: int | None = None
    ema_decay: float = 0.99         # QAT observers: short runs need a faster EMA than the paper's 0.999
    scheme: str = "uint8"           # "uint8" (the paper's) or "int8" (TFLite's int8 spec)
    per_channel: bool = False       # int8 scheme: one weight scale per output channel
    activation: str = "relu6"
    width: float = 0.25             # MobileNet width multiplier
    depth: int | None = None        # MobileNet v1 blocks kept (None: all 13)
    init: str | None = None         # float checkpoint to start QAT / PTQ from
    calib_batches: int = 10         # PTQ: training batches run through the observers
    max_steps: int | None = None    # stop early (tests, smoke runs)
    max_eval: int | None = None     # evaluate on the first N test images only
    max_train: int | None = None    # train on the first N (shuffled) training images only
    seed: int = 0
    resume: bool = False
    device: str | None = None       # None: cuda when available, else cpu
    threads: int | None = None      # torch CPU threads (None: torch's default); 1 is fastest for tiny models
    progress: bool = True
    extra_model_args: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)
