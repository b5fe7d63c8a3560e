"""MobileNet v2 (Sandler et al. 2018): inverted residuals with linear bottlenecks and residual adds. Imports: torch."""
from __future__ import annotations

import torch
from torch import nn

from intq.models.common import Classifier, ConvBNAct, scaled, stride_plan

# (expansion t, channels c, repeats n, canonical stride s) of the 7 bottleneck stages
_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class InvertedResidual(nn.Module):
    """1x1 expand (ReLU6) -> 3x3 depthwise (ReLU6) -> 1x1 project (linear); ``x + block(x)`` when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int, activation: str = "relu6"):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [ConvBNAct(cin, hidden, 1, activation=activation)]
        layers += [ConvBNAct(hidden, hidden, 3, stride, groups=hidden, activation=activation),
                   ConvBNAct(hidden, cout, 1, activation=None)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """Stem conv, the 7 bottleneck stages (``stages`` < 7 keeps the first ones), 1x1 conv to ``last`` channels,
    average pool, fully connected."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, width: float = 1.0, input_size: int = 224,
                 activation: str = "relu6", stages: int = 7, last: int = 1280, dropout: float = 0.0):
        super().__init__()
        if not 1 <= stages <= 7:
            raise ValueError(f"stages must be in 1..7, got {stages}")
        # stride-2 positions: stem (0) and stages 2, 3, 4, 6 (1-based stage index into [stem] + stages)
        strides = stride_plan(8, [0, 2, 3, 4, 6], input_size)
        cin = scaled(32, width)
        layers = [ConvBNAct(in_channels, cin, 3, strides[0], activation=activation)]
        for k, (t, c, n, _) in enumerate(_STAGES[:stages], start=1):
            cout = scaled(c, width)
            for r in range(n):
                layers.append(InvertedResidual(cin, cout, strides[k] if r == 0 else 1, t, activation))
                cin = cout
        last_ch = scaled(last, max(1.0, width)) if width > 1.0 else last
        layers.append(ConvBNAct(cin, last_ch, 1, activation=activation))
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(last_ch, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
