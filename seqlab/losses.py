"""Focal loss (Lin, Goyal, Girshick, He & Dollar 2017, "Focal loss for dense object detection",
section 3, eq. 5): the one implementation, used by the sentiment and vision trainers.

With p_t the model's probability of the true class,

    FL(p_t) = -alpha_t (1 - p_t)^gamma log(p_t)

The factor (1 - p_t)^gamma shrinks the loss of well-classified examples (p_t near 1) so that the
many easy negatives of a dense detector do not swamp the few hard ones; gamma = 2 and alpha = 0.25
are the paper's defaults. For the binary case p_t = p when y = 1, else 1 - p, and alpha_t = alpha
for positives, 1 - alpha for negatives. In the multi-class case alpha is ``None`` (no balancing), a
float applied to every class, or a per-class weight vector; the mean divides by the number of
examples. ``weight`` is torch's class weighting instead (``F.cross_entropy(weight=...)``): w_t
multiplies each loss and the mean divides by sum_t w_t. At gamma = 0 without alpha both are the
(binary) cross-entropy. Log-probabilities come from log-softmax / log-sigmoid for stability.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import ConfigError

__all__ = ["REDUCTIONS", "FocalLoss", "binary_focal_loss", "focal_loss"]

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ConfigError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
               alpha: float | torch.Tensor | None = None, reduction: str = "mean",
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-class focal loss: logits (N, C) or (N, C, *), target class indices (N,) or (N, *).

    ``alpha``: the paper's balancing factor (a float, or (C,) per class); ``weight`` (C,): class weights
    as in ``F.cross_entropy``, so that at ``gamma=0`` the result equals ``F.cross_entropy(weight=weight)``.
    """
    log_p = F.log_softmax(logits, dim=1)
    log_pt = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
    loss = -((1.0 - log_pt.exp()).clamp_min(0.0) ** gamma) * log_pt if gamma else -log_pt
    if isinstance(alpha, torch.Tensor) and alpha.dim() == 1:
        loss = loss * alpha.to(device=loss.device, dtype=loss.dtype)[target]
    elif alpha is not None:
        loss = loss * alpha
    if weight is None:
        return _reduce(loss, reduction)
    w = weight.to(device=loss.device, dtype=loss.dtype)[target]
    return (loss * w).sum() / w.sum() if reduction == "mean" else _reduce(loss * w, reduction)


def binary_focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, alpha: float | None = 0.25,
                      reduction: str = "mean") -> torch.Tensor:
    """Binary focal loss: logits and 0/1 (or soft) targets of the same shape."""
    target = target.to(logits.dtype)
    # log p_t = y log p + (1 - y) log(1 - p) = -BCE, which also handles soft targets
    log_pt = -F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    loss = -((1.0 - log_pt.exp()).clamp_min(0.0) ** gamma) * log_pt if gamma else -log_pt
    if alpha is not None:
        loss = loss * (alpha * target + (1.0 - alpha) * (1.0 - target))
    return _reduce(loss, reduction)


class FocalLoss(nn.Module):
    """Module form of :func:`focal_loss` (``binary=True``: :func:`binary_focal_loss`)."""

    def __init__(self, gamma: float = 2.0, alpha: float | torch.Tensor | None = None, binary: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.gamma, self.alpha, self.binary, self.reduction = gamma, alpha, binary, reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.binary:
            return binary_focal_loss(logits, target, self.gamma, self.alpha, self.reduction)
        return focal_loss(logits, target, self.gamma, self.alpha, self.reduction)
