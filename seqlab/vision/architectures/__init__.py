"""Classic CNN architectures and one builder that makes any of them by name from a few settings."""

from __future__ import annotations

from torch import nn

from seqlab.errors import ConfigError
from seqlab.vision.architectures.alexnet import AlexNet
from seqlab.vision.architectures.inception import GoogLeNet, InceptionBlock
from seqlab.vision.architectures.lenet import LeNet5
from seqlab.vision.architectures.resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from seqlab.vision.architectures.vgg import VGG, vgg, vgg16

MODELS = ("lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "googlenet", "resnet18", "resnet34", "resnet50")

__all__ = ["MODELS", "AlexNet", "BasicBlock", "Bottleneck", "GoogLeNet", "InceptionBlock", "LeNet5", "ResNet", "VGG",
           "build_model", "resnet18", "resnet34", "resnet50", "vgg", "vgg16"]


def build_model(name: str, num_classes: int, in_channels: int = 3, image_size: int = 224, width: float = 1.0,
                shortcut: str = "B", batch_norm: bool = False, small_input: bool = False,
                dropout: float = 0.5) -> nn.Module:
    """One of MODELS. ``width`` multiplies every channel count; ``small_input`` picks the
    3x3-conv stem of GoogLeNet and ResNet for 32x32-sized images; ``batch_norm`` applies to VGG
    and GoogLeNet (ResNet always has it, LeNet and AlexNet never)."""
    if name == "lenet5":
        return LeNet5(num_classes, in_channels, image_size, width)
    if name == "alexnet":
        return AlexNet(num_classes, in_channels, width, dropout=dropout)
    if name.startswith("vgg") and name[3:].isdigit() and name in MODELS:
        return vgg(int(name[3:]), num_classes=num_classes, in_channels=in_channels, width=width,
                   batch_norm=batch_norm, dropout=dropout, pool_size=1 if small_input else 7)
    if name == "googlenet":
        return GoogLeNet(num_classes, in_channels, width, "small" if small_input else "imagenet", batch_norm,
                         dropout=min(dropout, 0.4))
    if name in ("resnet18", "resnet34", "resnet50"):
        builder = {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50}[name]
        return builder(num_classes=num_classes, in_channels=in_channels, width=max(1, round(64 * width)),
                       shortcut=shortcut, stem="small" if small_input else "imagenet")
    raise ConfigError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
