"""Bounding boxes: format conversion, IoU, non-maximum suppression and anchor boxes.

Formats follow torchvision's names: ``xyxy`` (x1, y1, x2, y2 corners) and ``cxcywh`` (centre,
width, height). Intersection over union of boxes a and b is |a & b| / (|a| + |b| - |a & b|),
computed for every pair of two sets at once, with any leading batch dimensions.

Greedy non-maximum suppression (as in Felzenszwalb et al. 2010 and every detector since) keeps the
highest-scoring box, drops every remaining box whose IoU with it is above the threshold, and
repeats; ``batched_nms`` runs it for each class separately by shifting each class's boxes to its
own disjoint region of the plane (torchvision's trick), so one NMS pass serves all classes and the
result equals torchvision.ops.batched_nms. ``detect`` adds the score threshold in front.

Anchor boxes (Ren et al. 2015, Faster R-CNN section 3.1.1) are boxes of given sizes and aspect
ratios centred on every cell of a feature map; YOLOv2 (Redmon & Farhadi 2017, section "Dimension
Clusters") picks its anchor shapes by k-means on the training boxes with 1 - IoU as the distance
(``kmeans_anchors``).
"""

from __future__ import annotations

import torch

from seqlab.errors import ConfigError

__all__ = ["FORMATS", "anchor_boxes", "batched_nms", "box_area", "box_convert", "box_iou", "detect", "elementwise_iou",
           "kmeans_anchors", "nms", "shape_iou"]

FORMATS = ("xyxy", "cxcywh")


def box_convert(boxes: torch.Tensor, in_fmt: str, out_fmt: str) -> torch.Tensor:
    """Convert (..., 4) boxes between ``xyxy`` and ``cxcywh``."""
    for fmt in (in_fmt, out_fmt):
        if fmt not in FORMATS:
            raise ConfigError(f"box format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xyxy":
        return torch.stack([(a + c) / 2, (b + d) / 2, c - a, d - b], dim=-1)
    return torch.stack([a - c / 2, b - d / 2, a + c / 2, b + d / 2], dim=-1)


def box_area(boxes: torch.Tensor, fmt: str = "xyxy") -> torch.Tensor:
    """Areas (...,) of (..., 4) boxes (zero for degenerate boxes)."""
    boxes = box_convert(boxes, fmt, "xyxy") if fmt != "xyxy" else boxes
    return (boxes[..., 2] - boxes[..., 0]).clamp_min(0) * (boxes[..., 3] - boxes[..., 1]).clamp_min(0)


def box_iou(a: torch.Tensor, b: torch.Tensor, fmt: str = "xyxy") -> torch.Tensor:
    """IoU of every pair: a (..., N, 4), b (..., M, 4) -> (..., N, M)."""
    if fmt != "xyxy":
        a, b = box_convert(a, fmt, "xyxy"), box_convert(b, fmt, "xyxy")
    top_left = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    bottom_right = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    wh = (bottom_right - top_left).clamp_min(0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[..., :, None] + box_area(b)[..., None, :] - inter
    return inter / union.clamp_min(torch.finfo(inter.dtype).tiny)


def elementwise_iou(a: torch.Tensor, b: torch.Tensor, fmt: str = "xyxy") -> torch.Tensor:
    """IoU of matching boxes: a, b (..., 4) -> (...)."""
    return box_iou(a.unsqueeze(-2), b.unsqueeze(-2), fmt)[..., 0, 0]


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5) -> torch.Tensor:
    """Indices of the boxes (N, 4) (xyxy) kept by greedy NMS, by decreasing score.

    A box is dropped when its IoU with a kept, higher-scoring box is *above* ``iou_threshold``.
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = scores.argsort(descending=True)
    iou = box_iou(boxes[order], boxes[order])  # one vectorised IoU matrix; the greedy pass reads rows
    overlaps = (iou > iou_threshold).triu(diagonal=1).cpu()
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):  # inherently sequential: whether box i suppresses depends on whether it is kept
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlaps[i]
    return order[torch.tensor(keep, dtype=torch.long, device=boxes.device)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor,
                iou_threshold: float = 0.5) -> torch.Tensor:
    """NMS within each class: boxes (N, 4) xyxy, scores (N,), classes (N,) -> kept indices by decreasing score."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    offsets = classes.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def detect(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, score_threshold: float = 0.6,
           iou_threshold: float = 0.5, max_detections: int | None = None) -> torch.Tensor:
    """Indices of the detections to keep: score above ``score_threshold``, then NMS per class."""
    candidates = (scores > score_threshold).nonzero().squeeze(1)
    keep = candidates[batched_nms(boxes[candidates], scores[candidates], classes[candidates], iou_threshold)]
    return keep[:max_detections] if max_detections is not None else keep


def anchor_boxes(feature_size: tuple[int, int], image_size: tuple[int, int], sizes: tuple[float, ...] = (32.0,),
                 aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)) -> torch.Tensor:
    """Anchors (H * W * A, 4) xyxy in pixels, A = len(sizes) * len(aspect_ratios), centred on each cell.

    An anchor of size s and ratio r (height / width) has area s^2: w = s / sqrt(r), h = s * sqrt(r).
    Rows are ordered cell by cell (row-major), then size, then ratio.
    """
    (fh, fw), (ih, iw) = feature_size, image_size
    stride_y, stride_x = ih / fh, iw / fw
    s = torch.tensor(sizes, dtype=torch.float32)[:, None]
    r = torch.tensor(aspect_ratios, dtype=torch.float32)[None, :]
    w, h = (s / r.sqrt()).reshape(-1), (s * r.sqrt()).reshape(-1)
    cy = (torch.arange(fh, dtype=torch.float32) + 0.5) * stride_y
    cx = (torch.arange(fw, dtype=torch.float32) + 0.5) * stride_x
    cy, cx = torch.meshgrid(cy, cx, indexing="ij")
    centres = torch.stack([cx.reshape(-1), cy.reshape(-1)], dim=-1)[:, None, :]  # (H*W, 1, 2)
    half = torch.stack([w, h], dim=-1)[None] / 2  # (1, A, 2)
    return torch.cat([centres - half, centres + half], dim=-1).reshape(-1, 4)


def shape_iou(wh_a: torch.Tensor, wh_b: torch.Tensor) -> torch.Tensor:
    """IoU of box shapes aligned at a common centre: (N, 2) x (M, 2) widths/heights -> (N, M)."""
    inter = torch.minimum(wh_a[:, None, 0], wh_b[None, :, 0]) * torch.minimum(wh_a[:, None, 1], wh_b[None, :, 1])
    union = (wh_a[:, 0] * wh_a[:, 1])[:, None] + (wh_b[:, 0] * wh_b[:, 1])[None, :] - inter
    return inter / union


def kmeans_anchors(wh: torch.Tensor, k: int, iterations: int = 100, seed: int = 0) -> torch.Tensor:
    """k anchor shapes (k, 2) from box widths/heights (N, 2) by k-means with distance 1 - IoU (YOLOv2).

    Each cluster centre is the median shape of its boxes; result sorted by area.
    """
    if len(wh) < k:
        raise ConfigError(f"kmeans_anchors: {len(wh)} boxes are fewer than k = {k}")
    gen = torch.Generator().manual_seed(seed)
    centres = wh[torch.randperm(len(wh), generator=gen)[:k]].clone()
    for _ in range(iterations):
        assign = shape_iou(wh, centres).argmax(1)
        new = torch.stack([wh[assign == j].median(0).values if (assign == j).any() else centres[j] for j in range(k)])
        if torch.equal(new, centres):
            break
        centres = new
    return centres[(centres[:, 0] * centres[:, 1]).argsort()]
