"""Synthetic detection scenes: coloured squares and discs on a dark, noisy background.

Each image holds 1 to ``max_objects`` shapes; the class of a shape is its colour (red, green,
blue), its form (square or disc) and size vary, and shapes may overlap (the later one is drawn on
top). Boxes are corners (x1, y1, x2, y2) as fractions of the image side, the format
``seqlab.vision.yolo`` takes: the training and test data of the detection example in the README
(and of the test that a small YOLO learns to find objects).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["CLASSES", "COLOURS", "Scenes", "make_shapes"]

COLOURS = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.85, 0.1), "blue": (0.15, 0.25, 0.95)}
CLASSES = tuple(COLOURS)


@dataclass(frozen=True)
class Scenes:
    """images (N, 3, H, W) in [0, 1]; per image, boxes (M_i, 4) xyxy in [0, 1] and labels (M_i,)."""

    images: torch.Tensor
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]

    def __len__(self) -> int:
        return len(self.images)


def make_shapes(n: int, image_size: int = 64, max_objects: int = 3, min_size: int = 10, max_size: int = 24,
                generator: torch.Generator | None = None) -> Scenes:
    """``n`` random scenes (seeded by ``generator``)."""
    gen = generator or torch.Generator().manual_seed(0)
    images = 0.15 * torch.rand(n, 3, image_size, image_size, generator=gen)
    palette = torch.tensor(list(COLOURS.values()))
    ys, xs = torch.meshgrid(torch.arange(image_size), torch.arange(image_size), indexing="ij")
    all_boxes, all_labels = [], []
    for i in range(n):
        count = int(torch.randint(1, max_objects + 1, (), generator=gen))
        sizes = torch.randint(min_size, max_size + 1, (count,), generator=gen)
        boxes, labels = [], []
        for size in sizes.tolist():
            x0 = int(torch.randint(0, image_size - size + 1, (), generator=gen))
            y0 = int(torch.randint(0, image_size - size + 1, (), generator=gen))
            label = int(torch.randint(0, len(CLASSES), (), generator=gen))
            if bool(torch.rand((), generator=gen) < 0.5):  # square
                mask = (xs >= x0) & (xs < x0 + size) & (ys >= y0) & (ys < y0 + size)
            else:  # disc
                r = size / 2
                mask = (xs + 0.5 - x0 - r) ** 2 + (ys + 0.5 - y0 - r) ** 2 <= r * r
            images[i, :, mask] = palette[label][:, None]
            boxes.append([x0 / image_size, y0 / image_size, (x0 + size) / image_size, (y0 + size) / image_size])
            labels.append(label)
        all_boxes.append(torch.tensor(boxes))
        all_labels.append(torch.tensor(labels, dtype=torch.long))
    return Scenes(images, all_boxes, all_labels)
