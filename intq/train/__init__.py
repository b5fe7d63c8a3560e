"""Training: the `intq train` loop (float / QAT / PTQ, DDP), checkpoints, the `intq demo` pipeline.
Imports: torch, numpy, intq.{qat, convert, runtime, io, models, data}."""
from __future__ import annotations

from intq.train.checkpoint import load_checkpoint, save_checkpoint
from intq.train.config import MODES, TrainConfig
from intq.train.loop import train

__all__ = ["MODES", "TrainConfig", "train", "save_checkpoint", "load_checkpoint"]
