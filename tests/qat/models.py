"""Small float models shared by tests/qat and tests/conversion."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class ResidualConcat(nn.Module):
    """conv-bn-relu6 (stride 2) -> depthwise-bn + skip add + relu -> two 1x1 branches concat -> pools -> fc."""

    def __init__(self, classes: int = 5):
        super().__init__()
        self.c1, self.b1, self.r1 = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU6()
        self.dw, self.bdw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8)
        self.pa, self.pb = nn.Conv2d(8, 4, 1), nn.Conv2d(8, 6, 1)
        self.bpa = nn.BatchNorm2d(4)
        self.mp = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(10, classes)

    def forward(self, x):
        y = self.r1(self.b1(self.c1(x)))
        y = torch.relu(self.bdw(self.dw(y)) + y)
        y = torch.cat([F.relu(self.bpa(self.pa(y))), self.pb(y)], dim=1)
        y = self.gap(self.mp(y)).flatten(1)
        return self.fc(self.drop(y))


class FlattenMLP(nn.Module):
    """conv -> avg pool -> flatten of a non-1x1 map (order must match torch) -> linear-relu6 -> linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.pool = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(3 * 3 * 3, 7)
        self.act = nn.Hardtanh(0.0, 6.0)
        self.fc2 = nn.Linear(7, 4)

    def forward(self, x):
        y = self.pool(F.relu(self.conv(x)))
        y = y.view(y.size(0), -1)
        return self.fc2(self.act(self.fc1(y)))


def train_a_little(model: nn.Module, shape, steps: int = 10, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(steps):
        out = model(torch.randn(*shape))
        loss = (out - 0.5).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


class ResBlock(nn.Module):
    """torchvision-style BasicBlock: one ReLU module reused, conv-bn downsample, x.mean([2, 3]) head."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(4, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(4, 8, 1, 2, bias=False), nn.BatchNorm2d(8))
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.relu(out + self.downsample(x))
        return self.fc(torch.flatten(out.mean([2, 3]), 1))
