"""scikit-learn's handwritten digits (1,797 8x8 grey images, 10 classes; no download), upsampled.

Each 8x8 image (values 0-16) is scaled to [0, 1], resized to ``image_size`` by bilinear
interpolation (so LeNet gets its 32x32 input), standardised with the training set's mean and
standard deviation, and repeated to ``in_channels`` channels for the architectures built for RGB.
The split is stratified and seeded: ``test_fraction`` of all images for the test set, then
``valid_fraction`` of the rest for model selection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from seqlab.errors import ConfigError


@dataclass(frozen=True)
class ImageSplit:
    """images (N, C, H, W) float32 and labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Digits:
    train: ImageSplit
    valid: ImageSplit
    test: ImageSplit
    num_classes: int = 10


def load_digits_images(image_size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """All digits as (1797, 1, image_size, image_size) in [0, 1] and their labels (1797,)."""
    from sklearn.datasets import load_digits

    if image_size < 8:
        raise ConfigError(f"image_size must be at least 8 (the digits are 8x8), got {image_size}")
    data = load_digits()
    images = torch.from_numpy(data.images.astype(np.float32) / 16.0).unsqueeze(1)
    if image_size != 8:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return images, torch.from_numpy(data.target.astype(np.int64))


def split_indices(labels: np.ndarray, test_fraction: float, valid_fraction: float,
                  seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified (train, valid, test) index arrays."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    rest, test = train_test_split(index, test_size=test_fraction, stratify=labels, random_state=seed)
    if valid_fraction <= 0:
        return rest, rest[:0], test
    train, valid = train_test_split(rest, test_size=valid_fraction, stratify=labels[rest], random_state=seed)
    return train, valid, test


def load_digits_splits(image_size: int = 32, in_channels: int = 1, test_fraction: float = 0.2,
                       valid_fraction: float = 0.1, seed: int = 0, classes: tuple[int, ...] | None = None) -> Digits:
    """The digits split into standardised train/valid/test sets (``classes`` keeps only those digits)."""
    if not 0 < test_fraction < 1 or not 0 <= valid_fraction < 1:
        raise ConfigError("test_fraction must be in (0, 1) and valid_fraction in [0, 1)")
    images, labels = load_digits_images(image_size)
    if classes is not None:
        keep = torch.isin(labels, torch.tensor(classes))
        images, labels = images[keep], labels[keep]
    train, valid, test = split_indices(labels.numpy(), test_fraction, valid_fraction, seed)
    mean, std = images[train].mean(), images[train].std()
    images = ((images - mean) / std).expand(-1, in_channels, -1, -1).contiguous()
    pick = [torch.from_numpy(i) for i in (train, valid, test)]
    return Digits(*(ImageSplit(images[i], labels[i]) for i in pick))
