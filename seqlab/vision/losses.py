"""Focal loss for detectors and classifiers (Lin et al. 2017): the implementation is
:mod:`seqlab.losses`, shared with the sentiment classifiers; this module keeps its import path."""

from __future__ import annotations

from seqlab.losses import REDUCTIONS, FocalLoss, binary_focal_loss, focal_loss

__all__ = ["REDUCTIONS", "FocalLoss", "binary_focal_loss", "focal_loss"]
