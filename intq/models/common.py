"""Building blocks shared by the float models: conv-BN-activation, activation choice, stride plans. Imports: torch."""
from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = ("relu6", "relu")


def make_activation(activation: str) -> nn.Module:
    """nn.ReLU6 (the paper's default: bounded range quantizes better, §4) or nn.ReLU for the comparison."""
    if activation == "relu6":
        return nn.ReLU6(inplace=False)
    if activation == "relu":
        return nn.ReLU(inplace=False)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> activation (None for a linear bottleneck): the pattern QAT folds."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 activation: str | None = "relu6"):
        layers = [nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout)]
        if activation is not None:
            layers.append(make_activation(activation))
        super().__init__(*layers)


def num_downsamples(input_size: int, max_downsamples: int) -> int:
    """How many stride-2 stages keep the last feature map >= ~4 pixels: 8->1, 28->2, 32->3, 224->5."""
    return max(0, min(max_downsamples, int(math.floor(math.log2(max(input_size, 1) / 4.0)))))


def stride_plan(n_stages: int, downsample_at: list[int], input_size: int) -> list[int]:
    """Strides for ``n_stages`` stages: of the canonical stride-2 positions ``downsample_at`` keep the last
    ``num_downsamples(input_size)`` ones (small inputs skip the early downsampling)."""
    keep = num_downsamples(input_size, len(downsample_at))
    chosen = set(downsample_at[len(downsample_at) - keep:]) if keep else set()
    return [2 if i in chosen else 1 for i in range(n_stages)]


def scaled(channels: int, width: float, divisor: int = 8, minimum: int = 8) -> int:
    """Channels times the width multiplier, rounded to a multiple of ``divisor`` (MobileNet's _make_divisible)."""
    v = max(minimum, int(channels * width + divisor / 2) // divisor * divisor)
    if v < 0.9 * channels * width:
        v += divisor
    return v


class Classifier(nn.Module):
    """Global average pool -> flatten -> dropout -> Linear logits."""

    def __init__(self, cin: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.pool(x), 1)  # [N, C, 1, 1] -> [N, C]
        return self.fc(self.dropout(x))
