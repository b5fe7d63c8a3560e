"""Atomic, resumable training checkpoints (model, optimizer, epoch, step, RNG states). Imports: torch, numpy, stdlib."""
from __future__ import annotations

import os
import pickle
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from intq.errors import ModelFileError


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
    """Write the checkpoint to a temp file in the same directory, fsync, then os.replace (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "step": step,
               "rng": rng_state(), "extra": extra or {}}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
