"""Metric learning losses and triplet mining.

- Contrastive loss (Hadsell, Chopra & LeCun 2006, eq. 4) on pairs at distance d with y = 1 for a
  similar pair: ``L = y d^2 / 2 + (1 - y) max(0, m - d)^2 / 2``.
- Triplet loss (Schroff, Kalenichenko & Philbin 2015, FaceNet, eq. 1-3) on anchor, positive,
  negative embeddings: ``L = max(0, ||a - p||^2 - ||a - n||^2 + alpha)``.
- Batch-hard mining (Hermans, Beyer & Leibe 2017, "In defense of the triplet loss", section 2):
  for each anchor, its farthest positive and its nearest negative in the batch.
- Semi-hard mining (FaceNet section 3.2): for each anchor-positive pair, the nearest negative that
  is still farther than the positive, d(a, n) > d(a, p) (within the margin it gives a positive
  loss); where no negative is farther, the farthest negative (as TensorFlow Addons does).

Distances are squared Euclidean unless ``squared=False``; everything is vectorised over the batch
with (B, B) distance matrices.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlab.errors import ConfigError


def pairwise_distances(x: torch.Tensor, squared: bool = True) -> torch.Tensor:
    """(B, D) embeddings -> (B, B) (squared) Euclidean distances, exactly zero on the diagonal."""
    sq = (x * x).sum(1)
    dist = (sq[:, None] - 2 * x @ x.T + sq[None, :]).clamp_min(0.0)
    dist = dist * (1 - torch.eye(len(x), device=x.device, dtype=x.dtype))
    if squared:
        return dist
    zero = dist == 0  # sqrt has an infinite gradient at 0
    return torch.sqrt(dist + zero.to(dist.dtype) * 1e-16) * (~zero).to(dist.dtype)


def contrastive_loss(x1: torch.Tensor, x2: torch.Tensor, same: torch.Tensor, margin: float = 1.0,
                     reduction: str = "mean") -> torch.Tensor:
    """Pairs x1, x2 (B, D), same (B,) 1 for a similar pair, 0 otherwise."""
    d = F.pairwise_distance(x1, x2, eps=0.0)
    same = same.to(d.dtype)
    loss = 0.5 * same * d ** 2 + 0.5 * (1 - same) * F.relu(margin - d) ** 2
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.2,
                 squared: bool = True, reduction: str = "mean") -> torch.Tensor:
    """Triplets (B, D) each -> max(0, d(a, p) - d(a, n) + margin), averaged (or summed, or per triplet)."""
    d_ap = ((anchor - positive) ** 2).sum(1)
    d_an = ((anchor - negative) ** 2).sum(1)
    if not squared:
        d_ap, d_an = d_ap.sqrt(), d_an.sqrt()
    loss = F.relu(d_ap - d_an + margin)
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same  # positives (not oneself), negatives


def batch_hard_triplets(dist: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(anchor, positive, negative) index tensors: for every anchor with a positive and a negative in the
    batch, its farthest positive and nearest negative under the (B, B) distances ``dist``."""
    pos, neg = _masks(labels)
    valid = pos.any(1) & neg.any(1)
    hardest_pos = dist.masked_fill(~pos, float("-inf")).argmax(1)
    hardest_neg = dist.masked_fill(~neg, float("inf")).argmin(1)
    anchors = valid.nonzero().squeeze(1)
    return anchors, hardest_pos[anchors], hardest_neg[anchors]


def semi_hard_triplets(dist: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(anchor, positive, negative) index tensors: every anchor-positive pair with, as negative, the
    nearest one farther than the positive (else the farthest negative)."""
    pos, neg = _masks(labels)
    anchors, positives = (pos & neg.any(1, keepdim=True)).nonzero(as_tuple=True)
    d_ap = dist[anchors, positives][:, None]  # (P, 1)
    d_an = dist[anchors]  # (P, B)
    negs = neg[anchors]
    outside = negs & (d_an > d_ap)
    nearest_outside = d_an.masked_fill(~outside, float("inf")).argmin(1)
    farthest = d_an.masked_fill(~negs, float("-inf")).argmax(1)
    negatives = torch.where(outside.any(1), nearest_outside, farthest)
    return anchors, positives, negatives


MINERS = {"batch_hard": batch_hard_triplets, "semi_hard": semi_hard_triplets}


def mined_triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 0.2, mining: str = "batch_hard",
                       squared: bool = True) -> torch.Tensor:
    """Triplet loss over the triplets ``mining`` picks in a batch (B, D) with labels (B,)."""
    if mining not in MINERS:
        raise ConfigError(f"mining must be one of {', '.join(MINERS)}, got {mining!r}")
    with torch.no_grad():
        a, p, n = MINERS[mining](pairwise_distances(embeddings, squared), labels)
    if len(a) == 0:
        return embeddings.sum() * 0.0
    return triplet_loss(embeddings[a], embeddings[p], embeddings[n], margin, squared)
