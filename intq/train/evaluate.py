"""Accuracy of torch models and of converted integer graphs, top-1 agreement, latency. Imports: torch, numpy, runtime."""
from __future__ import annotations

import time

import numpy as np
import torch

from intq.runtime import Interpreter


@torch.no_grad()
def torch_predict(model: torch.nn.Module, x: np.ndarray, device: torch.device | str = "cpu",
                  batch_size: int = 256) -> np.ndarray:
    """Top-1 class of a torch model (eval mode) on float32 NCHW ``x``: int64 [N]."""
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size])).to(device)
        out.append(model(xb).argmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def int_predict(graph, x: np.ndarray, batch_size: int = 256, kernels: str = "fast") -> np.ndarray:
    """Top-1 class of an intq integer graph (float32 NCHW in, float logits out) run by intq's runtime."""
    it = Interpreter(graph, kernels=kernels)
    out = []
    for i in range(0, len(x), batch_size):
        (logits,) = it.run(np.ascontiguousarray(x[i:i + batch_size], dtype=np.float32))
        out.append(np.asarray(logits).reshape(len(logits), -1).argmax(1))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Percentage of ``pred == labels``."""
    return float(100.0 * np.mean(pred == labels)) if len(labels) else float("nan")


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Percentage of samples on which two top-1 predictions agree."""
    return float(100.0 * np.mean(a == b)) if len(a) else float("nan")


def latency_ms(fn, x: np.ndarray, repeats: int = 20) -> float:
    """Median milliseconds of ``fn(x[i:i+1])`` over ``repeats`` single images (after one warm-up call)."""
    fn(x[:1])
    times = []
    for i in range(repeats):
        xi = x[i % len(x): i % len(x) + 1]
        t0 = time.perf_counter()
        fn(xi)
        times.append(time.perf_counter() - t0)
    return float(1000.0 * np.median(times))


def int_latency_ms(graph, x: np.ndarray, repeats: int = 20, kernels: str = "fast") -> float:
    """Per-image latency of intq's integer runtime."""
    it = Interpreter(graph, kernels=kernels)
    return latency_ms(lambda xi: it.run(np.ascontiguousarray(xi, dtype=np.float32)), x, repeats)


@torch.no_grad()
def torch_latency_ms(model: torch.nn.Module, x: np.ndarray, repeats: int = 20) -> float:
    """Per-image latency of the float torch model on CPU (eval mode)."""
    model = model.eval().cpu()
    return latency_ms(lambda xi: model(torch.from_numpy(np.ascontiguousarray(xi))), x, repeats)
