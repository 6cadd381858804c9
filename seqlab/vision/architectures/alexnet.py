"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep convolutional
neural networks", section 3 and figure 2), on one device instead of two.

    227x227x3 -> conv 96 11x11/4 -> ReLU -> LRN -> maxpool 3/2
              -> conv 256 5x5 (pad 2) -> ReLU -> LRN -> maxpool 3/2
              -> conv 384 3x3 -> conv 384 3x3 -> conv 256 3x3 (pad 1, ReLU) -> maxpool 3/2  (6x6x256)
              -> dropout -> fc 4096 -> ReLU -> dropout -> fc 4096 -> ReLU -> fc classes

Local response normalisation uses the paper's k=2, n=5, alpha=1e-4, beta=0.75 (section 3.3; see
``lrn`` for torch's convention). An adaptive average pool to 6x6 before the classifier (as torchvision does) lets any
input of at least 67 pixels through; ``width`` scales every layer's channels.
"""

from __future__ import annotations

import torch
from torch import nn


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def lrn() -> nn.LocalResponseNorm:
    """The paper's LRN: b = a / (k + alpha * sum_{n neighbours} a^2)^beta, k=2, n=5, alpha=1e-4, beta=0.75.

    torch.nn.LocalResponseNorm divides ``alpha`` by ``size``, so it gets ``alpha * size``.
    """
    return nn.LocalResponseNorm(size=5, alpha=1e-4 * 5, beta=0.75, k=2.0)


class AlexNet(nn.Module):
    """(N, in_channels, H, W) images, H, W >= 67 (227 in the paper) -> (N, num_classes) logits."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0, dropout: float = 0.5,
                 local_response_norm: bool = True, hidden: int = 4096) -> None:
        super().__init__()
        c = [_scaled(n, width) for n in (96, 256, 384, 384, 256)]
        norm = lrn if local_response_norm else nn.Identity
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c[0], 11, stride=4), nn.ReLU(inplace=True), norm(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(inplace=True), norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        h = _scaled(hidden, width)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c[4] * 36, h), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(h, h), nn.ReLU(inplace=True), nn.Linear(h, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
