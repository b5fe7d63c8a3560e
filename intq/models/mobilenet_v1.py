"""MobileNet v1 (Howard et al. 2017), the paper's main model: width multiplier, resolution-aware strides. Imports: torch."""
from __future__ import annotations

import torch
from torch import nn

from intq.models.common import Classifier, ConvBNAct, scaled, stride_plan

# (output channels at width 1.0) of the stem and the 13 depthwise-separable blocks
_CHANNELS = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
# canonical stride-2 positions: stem (0) and blocks 2, 4, 6, 12 (indices into the 14 stages)
_DOWNSAMPLE_AT = [0, 2, 4, 6, 12]


class MobileNetV1(nn.Module):
    """Stem 3x3 conv, 13 (depthwise 3x3 + pointwise 1x1) blocks, each conv followed by BN + ReLU6, then
    average pool + fully connected. ``depth`` < 13 keeps the first blocks only (small inputs, quick runs)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, width: float = 1.0, input_size: int = 224,
                 activation: str = "relu6", depth: int = 13, dropout: float = 0.0):
        super().__init__()
        if not 1 <= depth <= 13:
            raise ValueError(f"depth must be in 1..13, got {depth}")
        chans = [scaled(c, width) for c in _CHANNELS[: depth + 1]]
        # downsample only at canonical positions inside the kept depth (a truncated net still reduces resolution)
        strides = stride_plan(depth + 1, [p for p in _DOWNSAMPLE_AT if p <= depth], input_size)
        layers = [ConvBNAct(in_channels, chans[0], 3, strides[0], activation=activation)]
        for i in range(1, depth + 1):
            cin, cout = chans[i - 1], chans[i]
            layers.append(ConvBNAct(cin, cin, 3, strides[i], groups=cin, activation=activation))  # depthwise
            layers.append(ConvBNAct(cin, cout, 1, activation=activation))  # pointwise
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(chans[-1], num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
