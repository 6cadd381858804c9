"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document
recognition", section II.B).

    32x32 -> C1: 6 conv 5x5 -> S2: 2x2 subsampling -> C3: 16 conv 5x5 -> S4: 2x2 subsampling
          -> C5: 120 units -> F6: 84 units -> output (classes)

with tanh units, as in the paper; the subsampling layers are average pooling (the paper's S layers
also have a trainable coefficient and bias, which the following convolution absorbs), C3 connects
to every S2 map (not the paper's partial table) and the output is a linear layer instead of the
RBF units, as in every modern reading. ``activation="relu"`` and ``pool="max"`` give the common
variant; ``image_size`` other than 32 resizes C5's input.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import ConfigError


class LeNet5(nn.Module):
    """(N, in_channels, image_size, image_size) images -> (N, num_classes) logits."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 32, width: float = 1.0,
                 activation: str = "tanh", pool: str = "avg") -> None:
        super().__init__()
        acts = {"tanh": nn.Tanh, "relu": nn.ReLU}
        pools = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}
        if activation not in acts or pool not in pools:
            raise ConfigError(f"LeNet5: activation must be tanh or relu and pool avg or max, "
                              f"got {activation!r}, {pool!r}")
        side = ((image_size - 4) // 2 - 4) // 2
        if side < 1:
            raise ConfigError(f"LeNet5: image_size {image_size} is too small (needs at least 16)")
        c1, c3 = max(1, round(6 * width)), max(1, round(16 * width))
        c5, f6 = max(1, round(120 * width)), max(1, round(84 * width))
        act = acts[activation]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5), act(), pools[pool](2),
            nn.Conv2d(c1, c3, 5), act(), pools[pool](2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c3 * side * side, c5), act(), nn.Linear(c5, f6), act(), nn.Linear(f6, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
