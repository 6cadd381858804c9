"""The Inception block and GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions",
section 5, figure 2b and table 1).

An Inception block runs four branches on the same input and concatenates them along channels:

    1x1 conv | 1x1 reduce -> 3x3 conv | 1x1 reduce -> 5x5 conv | 3x3 max pool (stride 1) -> 1x1 proj

(every conv followed by ReLU), the 1x1 reductions keeping the 3x3 and 5x5 convolutions cheap.
GoogLeNet stacks a stem (7x7/2 conv, pool, 1x1 and 3x3 conv, pool), blocks 3a-3b, pool, 4a-4e,
pool, 5a-5b, global average pooling, dropout 0.4 and a linear classifier. The two auxiliary
classifiers of the paper (training-time only) are left out. ``stem="small"`` replaces the stem by
one 3x3 conv at full resolution for 32x32-sized inputs; ``width`` scales every channel count;
``batch_norm`` adds a BatchNorm after each conv (as Inception v2 does).
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import ConfigError
from seqlab.vision.norm import BatchNorm2d

# table 1: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) per block
BLOCKS: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
STAGES = (("3a", "3b"), ("4a", "4b", "4c", "4d", "4e"), ("5a", "5b"))


def conv_unit(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
              batch_norm: bool = False) -> nn.Sequential:
    """conv (same padding) [+ BatchNorm] + ReLU."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                                         bias=not batch_norm)]
    if batch_norm:
        layers.append(BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InceptionBlock(nn.Module):
    """(N, in_channels, H, W) -> (N, c1x1 + c3x3 + c5x5 + pool_proj, H, W)."""

    def __init__(self, in_channels: int, c1x1: int, c3x3_reduce: int, c3x3: int, c5x5_reduce: int, c5x5: int,
                 pool_proj: int, batch_norm: bool = False) -> None:
        super().__init__()
        self.branch1 = conv_unit(in_channels, c1x1, 1, batch_norm=batch_norm)
        self.branch2 = nn.Sequential(conv_unit(in_channels, c3x3_reduce, 1, batch_norm=batch_norm),
                                     conv_unit(c3x3_reduce, c3x3, 3, batch_norm=batch_norm))
        self.branch3 = nn.Sequential(conv_unit(in_channels, c5x5_reduce, 1, batch_norm=batch_norm),
                                     conv_unit(c5x5_reduce, c5x5, 5, batch_norm=batch_norm))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                     conv_unit(in_channels, pool_proj, 1, batch_norm=batch_norm))
        self.out_channels = c1x1 + c3x3 + c5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class GoogLeNet(nn.Module):
    """(N, in_channels, H, W) -> (N, num_classes) logits; H, W >= 32 ("imagenet" stem) or >= 4 ("small")."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0, stem: str = "imagenet",
                 batch_norm: bool = False, dropout: float = 0.4) -> None:
        super().__init__()

        def scale(n: int) -> int:
            return max(1, round(n * width))

        if stem == "imagenet":
            self.stem = nn.Sequential(
                conv_unit(in_channels, scale(64), 7, 2, batch_norm), nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
                conv_unit(scale(64), scale(64), 1, batch_norm=batch_norm),
                conv_unit(scale(64), scale(192), 3, batch_norm=batch_norm),
                nn.MaxPool2d(3, 2, padding=1, ceil_mode=True))
        elif stem == "small":
            self.stem = conv_unit(in_channels, scale(192), 3, batch_norm=batch_norm)
        else:
            raise ConfigError(f"GoogLeNet: stem must be imagenet or small, got {stem!r}")
        stages: list[nn.Module] = []
        channels = scale(192)
        for i, names in enumerate(STAGES):
            if i > 0:
                stages.append(nn.MaxPool2d(3, 2, padding=1, ceil_mode=True))
            for name in names:
                block = InceptionBlock(channels, *(scale(n) for n in BLOCKS[name]), batch_norm=batch_norm)
                stages.append(block)
                channels = block.out_channels
        self.blocks = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.blocks(self.stem(x)))
        return self.fc(self.dropout(torch.flatten(x, 1)))
