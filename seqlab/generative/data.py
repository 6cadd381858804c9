"""Images for the generative models: scikit-learn's digits, a folder of images, or a ``.npy`` array.

Every source becomes a float32 tensor (N, C, H, W) with values in [0, 1]: the digits' 0-16 grey
levels divided by 16, image files' 0-255 by 255, a ``.npy`` array as is when it already lies in
[0, 1] (else scaled by its maximum, which must be positive; an (N, H, W) array gets one channel).
``binarize`` thresholds at 0.5, for a Bernoulli likelihood that is a true probability. The split is
seeded and stratified when labels are known: ``test_fraction`` for the held-out test set, then
``valid_fraction`` of the rest for model selection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqlab.errors import ConfigError, DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".tif", ".tiff")


@dataclass(frozen=True)
class ImageData:
    """train/valid/test images (N, C, H, W) in [0, 1] and their labels (N,) (-1 when unknown)."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor
    valid_labels: torch.Tensor
    test_labels: torch.Tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train.shape[1:])


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits: images (1797, 1, 8, 8) in [0, 1] and labels (1797,)."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    return (data.images / 16.0).astype(np.float32)[:, None], data.target.astype(np.int64)


def load_npy(path: str | Path) -> np.ndarray:
    """An (N, H, W) or (N, C, H, W) array from a ``.npy`` file, scaled into [0, 1]."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    try:
        array = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{p}: not a readable .npy array ({exc})") from None
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or len(array) == 0:
        raise DataError(f"{p}: expected images shaped (N, H, W) or (N, C, H, W), got {array.shape}")
    array = array.astype(np.float32)
    if not np.isfinite(array).all() or array.min() < 0:
        raise DataError(f"{p}: values must be finite and non-negative")
    if array.max() > 1:
        array = array / array.max()
    return array


def load_folder(path: str | Path, image_size: int = 0, grey: bool = True) -> np.ndarray:
    """All images in a folder (sorted by name), resized to image_size x image_size when it is > 0."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow comes with matplotlib
        raise ConfigError("reading an image folder needs pillow: pip install pillow") from None
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{p}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    arrays = []
    for f in files:
        try:
            with Image.open(f) as image:
                image = image.convert("L" if grey else "RGB")
                if image_size:
                    image = image.resize((image_size, image_size), Image.BILINEAR)
                arrays.append(np.asarray(image, dtype=np.float32) / 255.0)
        except OSError as exc:
            raise DataError(f"{f}: not a readable image ({exc})") from None
    if len({a.shape for a in arrays}) > 1:
        raise DataError(f"{p}: images of different sizes; set image_size to resize them")
    stack = np.stack(arrays)
    return stack[:, None] if grey else stack.transpose(0, 3, 1, 2)


def split_indices(n: int, labels: np.ndarray | None, test_fraction: float, valid_fraction: float,
                  seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded (stratified when labels are given) train/valid/test index arrays."""
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    stratify = labels if labels is not None else None
    rest, test = train_test_split(index, test_size=test_fraction, random_state=seed, stratify=stratify)
    strat_rest = labels[rest] if labels is not None else None
    train, valid = train_test_split(rest, test_size=valid_fraction, random_state=seed, stratify=strat_rest)
    return np.sort(train), np.sort(valid), np.sort(test)


def load_images(source: str = "digits", image_size: int = 0, binarize: bool = False, test_fraction: float = 0.2,
                valid_fraction: float = 0.1, seed: int = 1) -> ImageData:
    """Images from ``source`` ("digits", a folder, or a .npy file), split into train/valid/test."""
    if not (0 < test_fraction < 1 and 0 < valid_fraction < 1):
        raise ConfigError("test_fraction and valid_fraction must be in (0, 1)")
    labels = None
    if source == "digits":
        images, labels = load_digits()
    elif Path(source).is_dir():
        images = load_folder(source, image_size)
    elif source.endswith(".npy"):
        images = load_npy(source)
    else:
        raise DataError(f"{source}: no such folder or .npy file (data is 'digits', an image folder or a .npy file)")
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    if image_size and tensor.shape[-1] != image_size:
        tensor = torch.nn.functional.interpolate(tensor, size=(image_size, image_size), mode="bilinear",
                                                 align_corners=False).clamp(0, 1)
    if binarize:
        tensor = (tensor >= 0.5).float()
    if len(tensor) < 10:
        raise DataError(f"{source}: {len(tensor)} images are too few to split into train, valid and test")
    train, valid, test = split_indices(len(tensor), labels, test_fraction, valid_fraction, seed)
    label_tensor = torch.from_numpy(labels) if labels is not None else torch.full((len(tensor),), -1)
    return ImageData(tensor[train], tensor[valid], tensor[test], label_tensor[train], label_tensor[valid],
                     label_tensor[test])
