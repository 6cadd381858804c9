"""Reading and writing RGB images as (1, 3, H, W) float tensors in [0, 1].

Files are read and written with Pillow when it is installed, else with matplotlib (an optional
dependency: ``pip install 'seqlab[plot]'``); scikit-learn's two sample photographs (china.jpg,
flower.jpg) need neither. Writes are atomic.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from seqlab.errors import ConfigError, DataError
from seqlab.io import atomic_path, check_readable


def _pil():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("reading or writing images needs Pillow or matplotlib: pip install 'seqlab[plot]'") from None
    return plt


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W, 3|4) or (H, W) uint8/float array -> (1, 3, H, W) float32 in [0, 1]."""
    a = np.asarray(array)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(a[..., :3])).permute(2, 0, 1).unsqueeze(0).clamp(0, 1).contiguous()


def resize(image: torch.Tensor, max_size: int) -> torch.Tensor:
    """Scale (N, 3, H, W) so that its longer side is ``max_size`` (antialiased bilinear)."""
    h, w = image.shape[-2:]
    scale = max_size / max(h, w)
    if scale == 1:
        return image
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(image, size=size, mode="bilinear", antialias=scale < 1, align_corners=False).clamp(0, 1)


def load_image(path: str | os.PathLike, max_size: int | None = None) -> torch.Tensor:
    """An image file as (1, 3, H, W) in [0, 1], optionally scaled to ``max_size`` on its longer side."""
    p = check_readable(path)
    Image = _pil()
    try:
        if Image is not None:
            with Image.open(p) as img:
                array = np.asarray(img.convert("RGB"))
        else:
            array = _pyplot().imread(p)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{p}: not a readable image ({exc})") from None
    image = to_tensor(array)
    return resize(image, max_size) if max_size else image


def sample_image(name: str, max_size: int | None = None) -> torch.Tensor:
    """One of scikit-learn's sample photographs, ``china.jpg`` or ``flower.jpg``, as (1, 3, H, W)."""
    from sklearn.datasets import load_sample_image

    try:
        image = to_tensor(load_sample_image(name))
    except AttributeError:
        raise ConfigError(f"no sample image {name!r}: use china.jpg or flower.jpg") from None
    return resize(image, max_size) if max_size else image


def save_image(image: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write (1, 3, H, W) or (3, H, W) in [0, 1] to ``path`` (format from the extension), atomically."""
    if image.dim() == 4:
        image = image[0]
    array = (image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    final = Path(path)
    fmt = final.suffix.lstrip(".").lower() or "png"
    fmt = {"jpg": "jpeg"}.get(fmt, fmt)
    Image = _pil()
    with atomic_path(final) as tmp:
        try:
            if Image is not None:
                Image.fromarray(array).save(tmp, format=fmt.upper())
            else:
                _pyplot().imsave(tmp, array, format=fmt)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{final}: cannot write this image format ({exc}); use .png or .jpg") from None
    return final
