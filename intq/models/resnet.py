"""A small ResNet (He et al. 2016, CIFAR variant): basic blocks with residual adds. Imports: torch."""
from __future__ import annotations

import torch
from torch import nn

from intq.models.common import Classifier, ConvBNAct, make_activation, stride_plan


class BasicBlock(nn.Module):
    """conv3x3-BN-act -> conv3x3-BN, plus the shortcut (identity or 1x1 conv-BN), then act."""

    def __init__(self, cin: int, cout: int, stride: int, activation: str = "relu"):
        super().__init__()
        self.body = nn.Sequential(ConvBNAct(cin, cout, 3, stride, activation=activation),
                                  ConvBNAct(cout, cout, 3, 1, activation=None))
        self.shortcut = None if stride == 1 and cin == cout else ConvBNAct(cin, cout, 1, stride, activation=None)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x if self.shortcut is None else self.shortcut(x)
        return self.act(self.body(x) + s)


class ResNet(nn.Module):
    """Stem conv, 3 stages of ``blocks`` basic blocks with ``base``, 2*base, 4*base channels (ResNet-20 at
    blocks=3, base=16), average pool, fully connected."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, base: int = 16, blocks: int = 3,
                 input_size: int = 32, activation: str = "relu6", dropout: float = 0.0):
        super().__init__()
        strides = stride_plan(4, [0, 2, 3], input_size)  # stem + 3 stages; stem only downsamples at 224
        if input_size >= 64:
            strides[0] = 2
        layers = [ConvBNAct(in_channels, base, 3, strides[0], activation=activation)]
        cin = base
        for stage in range(3):
            cout = base * 2 ** stage
            for b in range(blocks):
                layers.append(BasicBlock(cin, cout, strides[stage + 1] if b == 0 else 1, activation))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = Classifier(cin, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
