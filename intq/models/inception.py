"""An Inception-style network (Szegedy et al. 2015): parallel 1x1 / 3x3 / 5x5-as-two-3x3 / pool branches joined
by channel concatenation. Imports: torch."""
from __future__ import annotations

import torch
from torch import nn

from intq.models.common import Classifier, ConvBNAct, stride_plan


class InceptionBlock(nn.Module):
    """Four branches concatenated on channels: 1x1; 1x1->3x3; 1x1->3x3->3x3; 3x3/1 max pool->1x1 (GoogLeNet's;
    the pool's padding 1 is TFLite SAME, so it converts to MAX_POOL_2D)."""

    def __init__(self, cin: int, c1: int, c3: int, c5: int, cp: int, activation: str = "relu6"):
        super().__init__()
        self.b1 = ConvBNAct(cin, c1, 1, activation=activation)
        self.b3 = nn.Sequential(ConvBNAct(cin, c3, 1, activation=activation), ConvBNAct(c3, c3, 3, activation=activation))
        self.b5 = nn.Sequential(ConvBNAct(cin, c5, 1, activation=activation), ConvBNAct(c5, c5, 3, activation=activation),
                                ConvBNAct(c5, c5, 3, activation=activation))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), ConvBNAct(cin, cp, 1, activation=activation))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)  # NCHW: concat on C


class InceptionNet(nn.Module):
    """Stem conv, two Inception blocks with a max-pool downsample between (when the input allows), pool, FC."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width: int = 16, input_size: int = 32,
                 activation: str = "relu6", dropout: float = 0.0):
        super().__init__()
        strides = stride_plan(3, [0, 1, 2], input_size)
        w = width
        self.stem = ConvBNAct(in_channels, 2 * w, 3, strides[0], activation=activation)
        self.block1 = InceptionBlock(2 * w, w, w, w // 2, w // 2, activation)
        self.down = nn.MaxPool2d(2, 2) if strides[1] == 2 else nn.Identity()
        self.block2 = InceptionBlock(self.block1.out_channels, 2 * w, 2 * w, w, w, activation)
        self.down2 = nn.MaxPool2d(2, 2) if strides[2] == 2 else nn.Identity()
        self.classifier = Classifier(self.block2.out_channels, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(self.block1(self.stem(x)))
        return self.classifier(self.down2(self.block2(x)))
