"""Contrastive and triplet losses by hand, mining against brute force, one-shot verification on digits."""

from __future__ import annotations

import itertools

import pytest
import torch

from seqlab.vision.metric import (
    batch_hard_triplets,
    contrastive_loss,
    mined_triplet_loss,
    pairwise_distances,
    semi_hard_triplets,
    triplet_loss,
)
from seqlab.vision.siamese import Encoder, OneShotConfig, SiameseNetwork, best_threshold, train_siamese


def test_pairwise_distances():
    x = torch.randn(6, 3, dtype=torch.float64)
    torch.testing.assert_close(pairwise_distances(x, squared=False), torch.cdist(x, x))
    torch.testing.assert_close(pairwise_distances(x), torch.cdist(x, x) ** 2)
    y = x.clone().requires_grad_(True)
    pairwise_distances(y, squared=False).sum().backward()
    assert torch.isfinite(y.grad).all()  # no NaN from sqrt at the zero diagonal


def test_contrastive_and_triplet_losses_by_hand():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    b = torch.tensor([[3.0, 4.0], [0.3, 0.4]])  # distances 5 and 0.5
    same = torch.tensor([1, 0])
    # similar pair: d^2 / 2 = 12.5; dissimilar pair inside the margin 1: (1 - 0.5)^2 / 2 = 0.125
    assert contrastive_loss(a, b, same, margin=1.0, reduction="none").tolist() == pytest.approx([12.5, 0.125])
    anchor, positive = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    assert triplet_loss(anchor, positive, torch.tensor([[0.9, 0.0]]), margin=0.2).item() == pytest.approx(0.39)
    assert triplet_loss(anchor, positive, torch.tensor([[2.0, 0.0]]), margin=0.2).item() == 0.0


def _brute_force(dist, labels):
    d, y, n = dist.tolist(), labels.tolist(), len(labels)
    hard, semi = [], []
    for a in range(n):
        pos = [p for p in range(n) if p != a and y[p] == y[a]]
        neg = [k for k in range(n) if y[k] != y[a]]
        if not pos or not neg:
            continue
        hard.append((a, max(pos, key=lambda p: d[a][p]), min(neg, key=lambda k: d[a][k])))
        for p in pos:
            outside = [k for k in neg if d[a][k] > d[a][p]]
            semi.append((a, p, min(outside, key=lambda k: d[a][k]) if outside else max(neg, key=lambda k: d[a][k])))
    return hard, semi


@pytest.mark.parametrize("seed", range(4))
def test_mining_picks_the_hardest_pairs(seed):
    gen = torch.Generator().manual_seed(seed)
    emb = torch.randn(12, 4, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4])  # class 4 has no positive
    dist = pairwise_distances(emb)
    hard, semi = _brute_force(dist, labels)
    assert list(zip(*(t.tolist() for t in batch_hard_triplets(dist, labels)), strict=True)) == hard
    assert list(zip(*(t.tolist() for t in semi_hard_triplets(dist, labels)), strict=True)) == semi
    a, p, n = batch_hard_triplets(dist, labels)
    # the batch-hard loss is the largest of all valid triplets' losses for each anchor
    for anchor, pos, neg in zip(a.tolist(), p.tolist(), n.tolist(), strict=True):
        worst = max(dist[anchor, q] - dist[anchor, k] for q, k in itertools.product(range(12), range(12))
                    if q != anchor and labels[q] == labels[anchor] and labels[k] != labels[anchor])
        assert dist[anchor, pos] - dist[anchor, neg] == worst
    assert mined_triplet_loss(emb, labels, 0.2, "batch_hard").item() == pytest.approx(
        triplet_loss(emb[a], emb[p], emb[n], 0.2).item())


def test_siamese_shares_its_encoder():
    model = SiameseNetwork(Encoder(1, 8, 4)).eval()
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(model(x, x), torch.zeros(3), atol=1e-6, rtol=0)
    assert best_threshold(torch.tensor([0.1, 0.2, 0.8, 0.9]), torch.tensor([True, True, False, False])) == 0.5


@pytest.mark.usefixtures("one_thread")
def test_one_shot_verification_on_unseen_digits():
    result = train_siamese(OneShotConfig(steps=150), torch.device("cpu"))
    # chance is 50% on balanced pairs of digits 7, 8, 9, which training never showed
    assert result["unseen_classes"] == [7, 8, 9] and result["pairs"] == 2000
    assert result["seen_accuracy"] > 0.9
    assert result["verification_accuracy"] > 0.65
