"""YOLO v2-style detection (Redmon & Farhadi 2017, "YOLO9000: better, faster, stronger", section 2;
the loss of Redmon et al. 2016, "You only look once", section 2.2).

The network maps an image to an S x S grid; in each cell, for each of A anchors (prior shapes
(p_w, p_h) in grid cells), it predicts t = (t_x, t_y, t_w, t_h, t_o) and C class logits. Decoding
(YOLOv2 "Direct location prediction"), for cell column c_x and row c_y:

    b_x = (sigmoid(t_x) + c_x) / S      b_w = p_w exp(t_w) / S      (fractions of the image)
    b_y = (sigmoid(t_y) + c_y) / S      b_h = p_h exp(t_h) / S      P(object) = sigmoid(t_o)

and a box's score for class k is P(object) x P(k | object); boxes under a score threshold are
dropped and the rest go through NMS per class.

Target assignment: a ground-truth box is the responsibility of the cell holding its centre and of
the anchor whose shape has the highest IoU with the box's shape (both centred at the origin).
The loss, summed over the grid and averaged over images, is

    lambda_coord * sum_resp [(sigmoid(t_xy) - t*_xy)^2 + (t_wh - t*_wh)^2]      t*_wh = log(b_wh S / p_wh)
  + sum_resp (sigmoid(t_o) - 1)^2 + lambda_noobj * sum_{not resp, IoU < ignore} sigmoid(t_o)^2
  + sum_resp cross_entropy(class logits, class)

(YOLOv2 does not penalise the objectness of an unassigned prediction that already overlaps a
ground-truth box by more than ``ignore_threshold``; the class term uses cross-entropy instead of
YOLOv1's squared error on probabilities.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.vision.boxes import box_convert, box_iou, detect, shape_iou
from seqlab.vision.norm import BatchNorm2d

__all__ = ["Detections", "TinyYolo", "YoloConfig", "YoloTargets", "assign_targets", "decode", "decode_boxes",
           "split_output", "yolo_loss"]


@dataclass(frozen=True)
class YoloConfig:
    grid_size: int = 8
    num_classes: int = 3
    anchors: tuple[tuple[float, float], ...] = ((1.5, 1.5), (2.5, 2.5))  # (w, h) in grid cells
    lambda_coord: float = 5.0
    lambda_noobj: float = 0.5
    ignore_threshold: float = 0.6

    @property
    def num_anchors(self) -> int:
        return len(self.anchors)

    def anchor_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.tensor(self.anchors, dtype=torch.float32, device=device)


@dataclass
class YoloTargets:
    """Per image, cell and anchor: responsible (B, S, S, A) bool, xy (B, S, S, A, 2) offsets in the
    cell, wh (B, S, S, A, 2) log scales of the anchor, labels (B, S, S, A), and the ground-truth
    boxes of each image padded with zeros, truth (B, M, 4) xyxy."""

    responsible: torch.Tensor
    xy: torch.Tensor
    wh: torch.Tensor
    labels: torch.Tensor
    truth: torch.Tensor


def assign_targets(boxes: list[torch.Tensor], labels: list[torch.Tensor], cfg: YoloConfig) -> YoloTargets:
    """Targets for a batch: per image, boxes (M_i, 4) xyxy in [0, 1] and labels (M_i,).

    When two boxes land on the same cell and anchor, the later one wins.
    """
    s, a = cfg.grid_size, cfg.num_anchors
    n = len(boxes)
    device = boxes[0].device if n else torch.device("cpu")
    counts = torch.tensor([len(b) for b in boxes], device=device)
    resp = torch.zeros(n, s, s, a, dtype=torch.bool, device=device)
    xy = torch.zeros(n, s, s, a, 2, device=device)
    wh = torch.zeros(n, s, s, a, 2, device=device)
    cls = torch.zeros(n, s, s, a, dtype=torch.long, device=device)
    truth = torch.zeros(n, int(counts.max()) if n else 0, 4, device=device)
    for i, b in enumerate(boxes):
        truth[i, :len(b)] = b
    if n == 0 or counts.sum() == 0:
        return YoloTargets(resp, xy, wh, cls, truth)
    image = torch.repeat_interleave(torch.arange(n, device=device), counts)
    flat = torch.cat(boxes).float()
    centre = box_convert(flat, "xyxy", "cxcywh") * s  # in grid cells
    col = centre[:, 0].floor().long().clamp(0, s - 1)
    row = centre[:, 1].floor().long().clamp(0, s - 1)
    anchors = cfg.anchor_tensor(device)
    best = shape_iou(centre[:, 2:], anchors).argmax(1)
    resp[image, row, col, best] = True
    xy[image, row, col, best] = centre[:, :2] - torch.stack([col, row], dim=1).float()
    wh[image, row, col, best] = torch.log(centre[:, 2:] / anchors[best])
    cls[image, row, col, best] = torch.cat(labels).to(device)
    return YoloTargets(resp, xy, wh, cls, truth)


def split_output(output: torch.Tensor, cfg: YoloConfig) -> torch.Tensor:
    """Network output (B, A * (5 + C), S, S) -> (B, S, S, A, 5 + C)."""
    b, _, s, _ = output.shape
    return output.view(b, cfg.num_anchors, 5 + cfg.num_classes, s, s).permute(0, 3, 4, 1, 2)


def decode_boxes(pred: torch.Tensor, cfg: YoloConfig) -> torch.Tensor:
    """Boxes (B, S, S, A, 4) xyxy in image fractions from predictions (B, S, S, A, 5 + C)."""
    s = pred.shape[1]
    rows, cols = torch.meshgrid(torch.arange(s, device=pred.device), torch.arange(s, device=pred.device),
                                indexing="ij")
    cell = torch.stack([cols, rows], dim=-1)[None, :, :, None, :].to(pred.dtype)
    xy = (torch.sigmoid(pred[..., 0:2]) + cell) / s
    wh = cfg.anchor_tensor(pred.device) * torch.exp(pred[..., 2:4].clamp(max=10)) / s
    return box_convert(torch.cat([xy, wh], dim=-1), "cxcywh", "xyxy")


def yolo_loss(output: torch.Tensor, targets: YoloTargets, cfg: YoloConfig) -> dict[str, torch.Tensor]:
    """The loss terms (``coord``, ``obj``, ``noobj``, ``cls``) and their ``total``, averaged over images."""
    pred = split_output(output, cfg)
    n = pred.shape[0]
    resp = targets.responsible
    obj = torch.sigmoid(pred[..., 4])
    with torch.no_grad():
        boxes = decode_boxes(pred, cfg).reshape(n, -1, 4)
        best_iou = (box_iou(boxes, targets.truth).amax(-1) if targets.truth.shape[1] else
                    torch.zeros(boxes.shape[:2], device=pred.device))
        ignore = (best_iou > cfg.ignore_threshold).view_as(resp)
    p = pred[resp]
    coord = ((torch.sigmoid(p[:, 0:2]) - targets.xy[resp]) ** 2).sum() + ((p[:, 2:4] - targets.wh[resp]) ** 2).sum()
    obj_term = ((obj[resp] - 1.0) ** 2).sum()
    noobj = (obj[~resp & ~ignore] ** 2).sum()
    cls = F.cross_entropy(p[:, 5:], targets.labels[resp], reduction="sum") if len(p) else p.sum()
    terms = {"coord": cfg.lambda_coord * coord / n, "obj": obj_term / n, "noobj": cfg.lambda_noobj * noobj / n,
             "cls": cls / n}
    terms["total"] = sum(terms.values())
    return terms


@dataclass
class Detections:
    """One image's detections: boxes (K, 4) xyxy in image fractions, scores (K,), labels (K,)."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


@torch.no_grad()
def decode(output: torch.Tensor, cfg: YoloConfig, score_threshold: float = 0.6, iou_threshold: float = 0.5,
           max_detections: int | None = 100) -> list[Detections]:
    """Detections per image from the network output (B, A * (5 + C), S, S): score = P(obj) x P(class),
    the best class per box, score threshold, then NMS per class."""
    pred = split_output(output, cfg)
    n = pred.shape[0]
    boxes = decode_boxes(pred, cfg).reshape(n, -1, 4)
    scores = (torch.sigmoid(pred[..., 4:5]) * torch.softmax(pred[..., 5:], dim=-1)).reshape(n, -1, cfg.num_classes)
    best, labels = scores.max(-1)
    result = []
    for i in range(n):  # NMS keeps a different number of boxes per image
        keep = detect(boxes[i], best[i], labels[i], score_threshold, iou_threshold, max_detections)
        result.append(Detections(boxes[i, keep], best[i, keep], labels[i, keep]))
    return result


def _conv(cin: int, cout: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), BatchNorm2d(cout),
                         nn.LeakyReLU(0.1, inplace=True))


class TinyYolo(nn.Module):
    """A small Darknet-style detector: (N, 3, 8S, 8S) images -> (N, A * (5 + C), S, S).

    3x3 conv + BN + leaky ReLU blocks with 2x2 max pools (as YOLOv2's Darknet-19, much narrower),
    then a 1x1 conv to the predictions.
    """

    def __init__(self, cfg: YoloConfig, width: int = 16, in_channels: int = 3) -> None:
        super().__init__()
        self.cfg = cfg
        w = width
        self.body = nn.Sequential(
            _conv(in_channels, w), nn.MaxPool2d(2), _conv(w, 2 * w), nn.MaxPool2d(2),
            _conv(2 * w, 4 * w), nn.MaxPool2d(2), _conv(4 * w, 4 * w), _conv(4 * w, 4 * w),
        )
        self.head = nn.Conv2d(4 * w, cfg.num_anchors * (5 + cfg.num_classes), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
