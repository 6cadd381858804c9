"""YOLO: target assignment on a hand-made scene, decoding of hand-set predictions, and a small YOLO
that learns to find coloured shapes."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.vision.boxes import box_iou
from seqlab.vision.shapes import make_shapes
from seqlab.vision.yolo import TinyYolo, YoloConfig, assign_targets, decode, split_output, yolo_loss

CFG = YoloConfig(grid_size=4, num_classes=3, anchors=((1.0, 1.0), (2.0, 1.0)))


def test_target_assignment_on_a_hand_made_scene():
    # image 1: a wide box centred at (0.3, 0.6) -> cell column 1, row 2, anchor 1 (2 x 1 cells)
    #          a square box centred at (0.875, 0.125) -> column 3, row 0, anchor 0
    # image 2: nothing
    boxes = [torch.tensor([[0.3 - 0.25, 0.6 - 0.125, 0.3 + 0.25, 0.6 + 0.125], [0.75, 0.0, 1.0, 0.25]]),
             torch.zeros(0, 4)]
    labels = [torch.tensor([2, 1]), torch.zeros(0, dtype=torch.long)]
    t = assign_targets(boxes, labels, CFG)
    assert t.responsible.shape == (2, 4, 4, 2)
    assert t.responsible.nonzero().tolist() == [[0, 0, 3, 0], [0, 2, 1, 1]]
    torch.testing.assert_close(t.xy[0, 2, 1, 1], torch.tensor([0.2, 0.4]))  # 0.3 * 4 - 1, 0.6 * 4 - 2
    torch.testing.assert_close(t.wh[0, 2, 1, 1], torch.tensor([0.0, 0.0]))  # exactly the anchor's shape
    torch.testing.assert_close(t.xy[0, 0, 3, 0], torch.tensor([0.5, 0.5]))
    assert t.labels[0, 2, 1, 1] == 2 and t.labels[0, 0, 3, 0] == 1
    assert t.truth.shape == (2, 2, 4) and t.truth[1].abs().sum() == 0
    half = torch.tensor([[0.1, 0.1, 0.6, 0.6]])  # 2 x 2 cells: anchor 1 (IoU 0.5) beats anchor 0 (0.25)
    assert assign_targets([half], [torch.tensor([0])], CFG).responsible[0, 1, 1].tolist() == [False, True]
    wide = assign_targets([torch.tensor([[0.0, 0.0, 0.75, 0.25]])], [torch.tensor([0])], CFG)
    torch.testing.assert_close(wide.wh[wide.responsible], torch.tensor([[math.log(1.5), 0.0]]))


def test_decoding_hand_set_predictions():
    out = torch.full((1, 2 * (5 + 3), 4, 4), -10.0)
    pred = split_output(out, CFG)  # a view: writing into it sets the raw output
    pred[0, 2, 1, 1, :4] = 0.0  # centre (1.5, 2.5) cells, anchor 1 shape
    pred[0, 2, 1, 1, 4] = 10.0  # objectness ~1
    pred[0, 2, 1, 1, 5:] = torch.tensor([0.0, 0.0, 5.0])
    pred[0, 2, 1, 0, :4] = 0.0  # the same centre, anchor 0, less sure: IoU 0.5 with the first box
    pred[0, 2, 1, 0, 4] = 3.0
    pred[0, 2, 1, 0, 5:] = torch.tensor([0.0, 0.0, 5.0])
    dets = decode(out, CFG, score_threshold=0.6, iou_threshold=0.4)
    assert len(dets) == 1 and dets[0].labels.tolist() == [2]
    torch.testing.assert_close(dets[0].boxes, torch.tensor([[0.125, 0.5, 0.625, 0.75]]))
    assert dets[0].scores.item() == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item() * (
        math.exp(5) / (2 + math.exp(5))), rel=1e-5)
    both = decode(out, CFG, score_threshold=0.6, iou_threshold=0.6)  # IoU 0.5 <= 0.6: both kept
    assert len(both[0].scores) == 2


def test_loss_is_zero_for_perfect_predictions_and_positive_otherwise():
    boxes, labels = [torch.tensor([[0.05, 0.475, 0.55, 0.725]])], [torch.tensor([1])]
    t = assign_targets(boxes, labels, CFG)
    out = torch.zeros(1, 2 * 8, 4, 4)
    pred = split_output(out, CFG)
    pred[..., 4] = -30.0
    resp = t.responsible
    pred[..., 0:2][resp] = torch.logit(t.xy[resp])
    pred[..., 2:4][resp] = t.wh[resp]
    pred[..., 4][resp] = 30.0
    pred[..., 5:][resp] = torch.tensor([[-30.0, 30.0, -30.0]])
    terms = yolo_loss(out, t, CFG)
    assert terms["total"].item() == pytest.approx(0.0, abs=1e-6)
    assert yolo_loss(torch.zeros(1, 16, 4, 4), t, CFG)["total"] > 1.0


@pytest.mark.usefixtures("one_thread")
def test_small_yolo_learns_to_find_coloured_shapes():
    cfg = YoloConfig(grid_size=4, num_classes=3, anchors=((1.0, 1.0), (1.6, 1.6)))
    shape = dict(image_size=32, max_objects=2, min_size=6, max_size=14)
    train = make_shapes(512, generator=torch.Generator().manual_seed(1), **shape)
    test = make_shapes(64, generator=torch.Generator().manual_seed(2), **shape)
    torch.manual_seed(0)
    model = TinyYolo(cfg, width=8)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        idx = torch.randint(0, len(train), (32,), generator=gen)
        targets = assign_targets([train.boxes[i] for i in idx], [train.labels[i] for i in idx], cfg)
        loss = yolo_loss(model(train.images[idx]), targets, cfg)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        detections = decode(model(test.images), cfg, score_threshold=0.5, iou_threshold=0.5)
    found = truth = correct = predicted = 0
    for det, boxes, labels in zip(detections, test.boxes, test.labels, strict=True):
        truth, predicted = truth + len(boxes), predicted + len(det.boxes)
        if len(det.boxes):
            match = (box_iou(boxes, det.boxes) > 0.5) & (labels[:, None] == det.labels[None, :])
            found += int(match.any(1).sum())
            correct += int(match.any(0).sum())
    # an untrained detector finds nothing; a trained one most shapes, with the right colour
    assert found / truth > 0.6, (found, truth)
    assert correct / max(1, predicted) > 0.6, (correct, predicted)
