"""Image grids: tile (N, C, H, W) images in [0, 1] into one picture and write it as a PNG (matplotlib)."""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from seqlab.errors import ConfigError
from seqlab.io import atomic_path


def tile(images: torch.Tensor, columns: int | None = None, padding: int = 1, fill: float = 1.0) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (rows*(H+p)+p, columns*(W+p)+p[, 3]) array, row-major, gaps ``fill``."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(f"expected images shaped (N, 1 or 3, H, W), got {tuple(images.shape)}")
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.full((c, rows * (h + padding) + padding, columns * (w + padding) + padding), fill,
                   dtype=np.float32)
    data = images.detach().float().clamp(0, 1).cpu().numpy()
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = data[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_grid(images: torch.Tensor, path: str | os.PathLike, columns: int | None = None, scale: int = 8) -> None:
    """Write ``images`` (N, C, H, W) in [0, 1] as one PNG grid (dark strokes on white), atomically.

    Each pixel becomes a ``scale`` x ``scale`` block, so 8x8 digits stay readable.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("writing a PNG grid needs matplotlib: pip install 'seqlab[plot]'") from None
    grid = tile(images, columns, fill=0.0 if images.shape[1] == 1 else 1.0)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    if grid.ndim == 2:
        grid = 1.0 - grid  # digits are bright strokes on black: draw them dark on white
    with atomic_path(path) as tmp:
        plt.imsave(tmp, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0, format="png")


def write_samples(images: torch.Tensor, path: str | os.PathLike, columns: int | None = None) -> None:
    """Write ``images`` (N, C, H, W) as a ``.npy`` array (a path ending in .npy) or a PNG grid, atomically."""
    if str(path).endswith(".npy"):
        from seqlab.io import atomic_open

        with atomic_open(path, "wb") as fh:
            np.save(fh, images.detach().cpu().numpy())
    else:
        save_grid(images, path, columns)
