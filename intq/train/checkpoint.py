"""Atomic, resumable training checkpoints (model, optimizer, epoch, step, RNG states). Imports: torch, numpy, stdlib,
intq.io."""
from __future__ import annotations

import io
import pickle
import random
from pathlib import Path

import numpy as np
import torch

from intq.errors import ModelFileError
from intq.io.atomic import atomic_write


def rng_state() -> dict:
    """Python, numpy, torch CPU (and CUDA when present) RNG states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, epoch: int,
                    step: int, extra: dict | None = None) -> None:
    """Write the checkpoint atomically (intq.io.atomic_write: never half-written; WriteError naming ``path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "step": step,
               "rng": rng_state(), "extra": extra or {}}
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write(path, buf.getvalue())


def load_checkpoint(path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    restore_rng: bool = True) -> dict:
    """Load weights (and optimizer / RNG state) in place; returns the dict with ``epoch``, ``step``, ``extra``."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(payload["model"])
        if optimizer is not None:
            optimizer.load_state_dict(payload["optimizer"])
    except FileNotFoundError:
        raise ModelFileError(str(path), "checkpoint not found") from None
    except (RuntimeError, KeyError, EOFError, OSError, ValueError, pickle.UnpicklingError) as e:
        raise ModelFileError(str(path), f"cannot load checkpoint: {e}") from None
    if restore_rng:
        set_rng_state(payload["rng"])
    return payload
