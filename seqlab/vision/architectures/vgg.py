"""VGG (Simonyan & Zisserman 2015, "Very deep convolutional networks for large-scale image
recognition", table 1): stacks of 3x3 convolutions (stride 1, pad 1, ReLU) separated by 2x2 max
pools, then fc 4096 -> fc 4096 -> fc classes with dropout 0.5.

Configurations A (VGG-11), B (VGG-13), D (VGG-16) and E (VGG-19) are lists of channel counts with
"M" for a pool; ``batch_norm`` adds a BatchNorm after each convolution (the common later variant).
The module layout (``features``, ``avgpool`` to 7x7, ``classifier``) is torchvision's, so its
``vgg16`` state dict loads unchanged; style transfer uses that (``seqlab.vision.style``).
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import ConfigError
from seqlab.vision.norm import BatchNorm2d

CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}


def make_features(config: list[int | str], in_channels: int = 3, width: float = 1.0,
                  batch_norm: bool = False) -> nn.Sequential:
    """The convolutional part of a VGG configuration: conv 3x3 (+BN) + ReLU per number, max pool per "M"."""
    layers: list[nn.Module] = []
    channels = in_channels
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        out = max(1, round(int(item) * width))
        layers.append(nn.Conv2d(channels, out, 3, padding=1))
        if batch_norm:
            layers.append(BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        channels = out
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """(N, in_channels, H, W) images, H, W >= 32 -> (N, num_classes) logits."""

    def __init__(self, config: str | list[int | str] = "D", num_classes: int = 1000, in_channels: int = 3,
                 width: float = 1.0, batch_norm: bool = False, dropout: float = 0.5, hidden: int = 4096,
                 pool_size: int = 7) -> None:
        super().__init__()
        if isinstance(config, str):
            if config not in CONFIGS:
                raise ConfigError(f"VGG: unknown configuration {config!r} (known: {', '.join(CONFIGS)})")
            config = CONFIGS[config]
        self.features = make_features(config, in_channels, width, batch_norm)
        last = [c for c in config if c != "M"][-1]
        channels = max(1, round(int(last) * width))
        h = max(1, round(hidden * width))
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = nn.Sequential(
            nn.Linear(channels * pool_size * pool_size, h), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(h, h), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(h, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg(depth: int = 16, **kwargs) -> VGG:
    """VGG-11, -13, -16 or -19 (configurations A, B, D, E)."""
    if depth not in DEPTHS:
        raise ConfigError(f"VGG: depth must be one of {', '.join(map(str, DEPTHS))}, got {depth}")
    return VGG(DEPTHS[depth], **kwargs)


def vgg16(**kwargs) -> VGG:
    """VGG-16 (configuration D)."""
    return VGG("D", **kwargs)
