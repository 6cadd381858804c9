"""Focal loss: cross-entropy at gamma 0, hand-worked values, alpha balancing."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import ConfigError
from seqlab.vision.losses import FocalLoss, binary_focal_loss, focal_loss


def test_gamma_zero_is_cross_entropy():
    torch.manual_seed(0)
    logits, target = torch.randn(20, 5, dtype=torch.float64), torch.randint(0, 5, (20,))
    torch.testing.assert_close(focal_loss(logits, target, gamma=0.0), F.cross_entropy(logits, target))
    dense, dense_target = torch.randn(2, 5, 3, 4, dtype=torch.float64), torch.randint(0, 5, (2, 3, 4))
    torch.testing.assert_close(focal_loss(dense, dense_target, gamma=0.0, reduction="sum"),
                               F.cross_entropy(dense, dense_target, reduction="sum"))
    x, y = torch.randn(30, dtype=torch.float64), torch.randint(0, 2, (30,)).double()
    torch.testing.assert_close(binary_focal_loss(x, y, gamma=0.0, alpha=None),
                               F.binary_cross_entropy_with_logits(x, y))


def test_hand_worked_values():
    # p_t = 0.9 for the true class: FL = -(0.1)^2 log 0.9
    logits = torch.log(torch.tensor([[0.9, 0.05, 0.05]], dtype=torch.float64))
    expected = -(0.1 ** 2) * math.log(0.9)
    assert focal_loss(logits, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-12)
    # binary: p = sigmoid(2) for a positive with alpha 0.25; p for a negative is 1 - p_t
    p = 1 / (1 + math.exp(-2.0))
    pos = binary_focal_loss(torch.tensor([2.0], dtype=torch.float64), torch.tensor([1.0])).item()
    neg = binary_focal_loss(torch.tensor([2.0], dtype=torch.float64), torch.tensor([0.0])).item()
    assert pos == pytest.approx(-0.25 * (1 - p) ** 2 * math.log(p), rel=1e-12)
    assert neg == pytest.approx(-0.75 * p ** 2 * math.log(1 - p), rel=1e-12)


def test_focusing_downweights_easy_examples_and_alpha_weights_classes():
    logits = torch.tensor([[4.0, 0.0], [0.2, 0.0]])
    target = torch.tensor([0, 0])
    ce = focal_loss(logits, target, gamma=0.0, reduction="none")
    fl = focal_loss(logits, target, gamma=2.0, reduction="none")
    assert (fl < ce).all() and (fl[0] / ce[0]) < (fl[1] / ce[1])  # the easy example loses more
    weights = torch.tensor([0.2, 0.8])
    torch.testing.assert_close(focal_loss(logits, torch.tensor([0, 1]), alpha=weights, reduction="none"),
                               focal_loss(logits, torch.tensor([0, 1]), reduction="none") * weights)
    assert FocalLoss(alpha=0.25, binary=True)(torch.tensor([2.0]), torch.tensor([1.0])) == binary_focal_loss(
        torch.tensor([2.0]), torch.tensor([1.0]))
    with pytest.raises(ConfigError, match="reduction"):
        focal_loss(logits, target, reduction="avg")
