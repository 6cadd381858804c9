"""IoU and NMS on hand-worked boxes, NMS against a brute-force reference (and torchvision when present),
anchors and k-means anchor shapes."""

from __future__ import annotations

import pytest
import torch

from seqlab.vision.boxes import (
    anchor_boxes,
    batched_nms,
    box_convert,
    box_iou,
    detect,
    elementwise_iou,
    kmeans_anchors,
    nms,
)


def test_iou_hand_worked_in_both_formats():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0], [0.0, 0.0, 1.0, 2.0]])
    expected = torch.tensor([[1 / 7, 1.0, 0.0, 0.5]])
    torch.testing.assert_close(box_iou(a, b), expected)
    torch.testing.assert_close(box_iou(box_convert(a, "xyxy", "cxcywh"), box_convert(b, "xyxy", "cxcywh"),
                                       fmt="cxcywh"), expected)
    torch.testing.assert_close(box_convert(torch.tensor([1.0, 2.0, 4.0, 6.0]), "xyxy", "cxcywh"),
                               torch.tensor([2.5, 4.0, 3.0, 4.0]))
    torch.testing.assert_close(elementwise_iou(b[:2], b[1:3]), torch.tensor([1 / 7, 0.0]))


def test_iou_is_batched():
    gen = torch.Generator().manual_seed(0)
    corners = torch.rand(3, 5, 2, 2, generator=gen).sort(dim=2).values
    boxes = corners.transpose(2, 3).reshape(3, 5, 4)[..., [0, 2, 1, 3]]  # x1 < x2, y1 < y2
    batched = box_iou(boxes, boxes[:, :4])
    assert batched.shape == (3, 5, 4)
    for i in range(3):
        torch.testing.assert_close(batched[i], box_iou(boxes[i], boxes[i, :4]))
    torch.testing.assert_close(torch.diagonal(batched[:, :4], dim1=1, dim2=2), torch.ones(3, 4))


def brute_force_nms(boxes, scores, classes, iou_threshold):
    """Greedy NMS per class with plain Python arithmetic."""
    def iou(p, q):
        w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        inter = w * h
        return inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)

    b, s, c = boxes.tolist(), scores.tolist(), classes.tolist()
    keep = []
    for i in sorted(range(len(b)), key=lambda k: -s[k]):
        if all(c[j] != c[i] or iou(b[i], b[j]) <= iou_threshold for j in keep):
            keep.append(i)
    return keep


def random_boxes(n, seed):
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 50
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 20 + 1
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=gen, dtype=torch.float64), torch.randint(
        0, 3, (n,), generator=gen)


def test_nms_hand_worked():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    classes = torch.tensor([0, 0, 0, 1])
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]  # box 3 suppresses 0 and 1 without classes
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == [3, 0, 2]  # IoU(0, 1) = 81/119 > 0.5
    assert detect(boxes, scores, classes, score_threshold=0.75, iou_threshold=0.5).tolist() == [3, 0]
    assert batched_nms(boxes, scores, classes, 0.69).tolist() == [3, 0, 1, 2]  # 0.6807 is not above 0.69
    assert batched_nms(boxes, scores, classes, 0.68).tolist() == [3, 0, 2]
    assert nms(boxes[:0], scores[:0]).numel() == 0


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_batched_nms_equals_brute_force(seed, threshold):
    boxes, scores, classes = random_boxes(60, seed)
    assert batched_nms(boxes, scores, classes, threshold).tolist() == brute_force_nms(boxes, scores, classes, threshold)


@pytest.mark.parametrize("seed", range(3))
def test_batched_nms_equals_torchvision(seed):
    ops = pytest.importorskip("torchvision.ops", reason="torchvision is an optional test dependency")
    boxes, scores, classes = random_boxes(80, seed)
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == ops.batched_nms(boxes, scores, classes, 0.5).tolist()


def test_anchor_boxes():
    anchors = anchor_boxes((2, 3), (20, 30), sizes=(4.0,), aspect_ratios=(1.0, 4.0))
    assert anchors.shape == (2 * 3 * 2, 4)
    torch.testing.assert_close(anchors[0], torch.tensor([3.0, 3.0, 7.0, 7.0]))  # cell (0, 0) centre (5, 5)
    torch.testing.assert_close(anchors[1], torch.tensor([4.0, 1.0, 6.0, 9.0]))  # ratio 4: 2 wide, 8 high
    torch.testing.assert_close(anchors[-1], torch.tensor([24.0, 11.0, 26.0, 19.0]))  # cell (1, 2) centre (25, 15)


def test_kmeans_anchors_find_two_planted_shapes():
    gen = torch.Generator().manual_seed(0)
    small = torch.tensor([2.0, 1.0]) + 0.05 * torch.randn(50, 2, generator=gen)
    large = torch.tensor([6.0, 8.0]) + 0.2 * torch.randn(50, 2, generator=gen)
    anchors = kmeans_anchors(torch.cat([small, large]), 2)
    torch.testing.assert_close(anchors, torch.tensor([[2.0, 1.0], [6.0, 8.0]]), atol=0.1, rtol=0)
