"""Float reference models, each QAT-able with intq.prepare_qat (Conv-BN-ReLU6, adds, concat). Imports: torch.

``build_model(name, in_channels, num_classes, input_size, activation="relu6", **kw)`` picks one by name;
``input_size`` (8 digits, 28 MNIST, 32 CIFAR, 224 ImageNet) sets how many stride-2 stages the model keeps.
"""
from __future__ import annotations

from torch import nn

from intq.models.common import ACTIVATIONS, ConvBNAct, make_activation
from intq.models.inception import InceptionBlock, InceptionNet
from intq.models.mobilenet_v1 import MobileNetV1
from intq.models.mobilenet_v2 import InvertedResidual, MobileNetV2
from intq.models.resnet import BasicBlock, ResNet

MODELS = {"mobilenet_v1": MobileNetV1, "mobilenet_v2": MobileNetV2, "resnet": ResNet, "inception": InceptionNet}


def build_model(name: str, in_channels: int, num_classes: int, input_size: int, activation: str = "relu6",
                **kwargs) -> nn.Module:
    """Construct model ``name`` (one of MODELS) for [N, in_channels, input_size, input_size] inputs."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](in_channels=in_channels, num_classes=num_classes, input_size=input_size,
                        activation=activation, **kwargs)


__all__ = ["ACTIVATIONS", "MODELS", "build_model", "ConvBNAct", "make_activation", "MobileNetV1", "MobileNetV2",
           "InvertedResidual", "ResNet", "BasicBlock", "InceptionNet", "InceptionBlock"]
