"""Residual networks (He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition").

A residual block computes ``y = relu(F(x) + shortcut(x))`` (section 3.2, eq. 1-2):

- basic block: F = conv3x3 -> BN -> ReLU -> conv3x3 -> BN (ResNet-18/34, figure 5 left);
- bottleneck: F = conv1x1 (reduce to width) -> BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv1x1
  (expand to 4 x width) -> BN (ResNet-50, figure 5 right). The stride sits on the 3x3 conv
  (torchvision's "v1.5"; the paper's Caffe model strides the first 1x1).

When F changes the shape (more channels, stride 2), the shortcut follows one of the three options
of section 4.1: **A** identity on the strided input ``x[:, :, ::s, ::s]`` with zero padding for the
extra channels (no parameters); **B** projection (1x1 conv, stride s, + BN) only where the shape
changes, identity elsewhere; **C** projection in every block.

ResNet-18/34/50 stack [2,2,2,2] / [3,4,6,3] basic / [3,4,6,3] bottleneck blocks in four stages of
64, 128, 256, 512 base channels (table 1) after a 7x7/2 conv and a 3x3/2 max pool
(``stem="imagenet"``) or a single 3x3 conv (``stem="small"``, for 32x32 inputs); ``width`` sets the
first stage's channels (64 in the paper).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import ConfigError
from seqlab.vision.norm import BatchNorm2d

SHORTCUTS = ("A", "B", "C")


class PadShortcut(nn.Module):
    """Option A: ``x[:, :, ::stride, ::stride]`` with zero channels appended up to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ConfigError("shortcut A cannot reduce channels; use shortcut B or C")
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


def make_shortcut(option: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """The shortcut of a block from in_channels to out_channels with ``stride``, by option A, B or C."""
    if option not in SHORTCUTS:
        raise ConfigError(f"ResNet: shortcut must be one of A, B, C, got {option!r}")
    changes = stride != 1 or in_channels != out_channels
    if option == "C" or (option == "B" and changes):
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), BatchNorm2d(out_channels))
    if option == "A" and changes:
        return PadShortcut(in_channels, out_channels, stride)
    return nn.Identity()


class BasicBlock(nn.Module):
    """(N, in_channels, H, W) -> (N, channels, H / stride, W / stride)."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, shortcut: str = "B") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(channels)
        self.shortcut = make_shortcut(shortcut, in_channels, channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class Bottleneck(nn.Module):
    """(N, in_channels, H, W) -> (N, 4 * channels, H / stride, W / stride)."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, shortcut: str = "B") -> None:
        super().__init__()
        out = channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out, 1, bias=False)
        self.bn3 = BatchNorm2d(out)
        self.shortcut = make_shortcut(shortcut, in_channels, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """(N, in_channels, H, W) images -> (N, num_classes) logits."""

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int], num_classes: int = 1000,
                 in_channels: int = 3, width: int = 64, shortcut: str = "B", stem: str = "imagenet") -> None:
        super().__init__()
        if shortcut not in SHORTCUTS:
            raise ConfigError(f"ResNet: shortcut must be one of A, B, C, got {shortcut!r}")
        if stem == "imagenet":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), BatchNorm2d(width),
                                      nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        elif stem == "small":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), BatchNorm2d(width),
                                      nn.ReLU(inplace=True))
        else:
            raise ConfigError(f"ResNet: stem must be imagenet or small, got {stem!r}")
        channels = width
        stages = []
        for i, count in enumerate(layers):
            planes = width * 2 ** i
            blocks = []
            for j in range(count):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(channels, planes, stride, shortcut))
                channels = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


def resnet50(**kwargs) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)
