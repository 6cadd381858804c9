"""Siamese networks and one-shot verification on digits the network never saw
(Bromley et al. 1993; Koch, Zemel & Salakhutdinov 2015, "Siamese neural networks for one-shot
image recognition").

One encoder f (shared weights) maps each image to a unit-length embedding; two images are "the
same class" when ||f(x1) - f(x2)|| is below a threshold. The encoder is trained on some digit
classes with the contrastive loss over all pairs of a batch, or the triplet loss with batch-hard or
semi-hard mining (``seqlab.vision.metric``); batches hold K images of each of P classes (Hermans et
al. 2017). The threshold is the one that best separates held-out pairs of the *training* classes;
the reported accuracy is on balanced same/different pairs drawn from the *unseen* classes only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.config import learning_rate_check, require
from seqlab.errors import ConfigError
from seqlab.training import diverged, progress_bar, set_postfix
from seqlab.vision.data import load_digits_splits
from seqlab.vision.metric import MINERS, contrastive_loss, mined_triplet_loss
from seqlab.vision.norm import BatchNorm2d

LOSSES = ("contrastive", "triplet")


class Encoder(nn.Module):
    """(N, C, H, W) images -> (N, embedding_dim) unit vectors: two conv-BN-ReLU-pool stages and a linear map."""

    def __init__(self, in_channels: int = 1, embedding_dim: int = 32, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False), BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), BatchNorm2d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.project = nn.Linear(8 * width, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.project(self.features(x)), dim=1)


class SiameseNetwork(nn.Module):
    """Two inputs through one shared encoder: ``forward(x1, x2)`` -> (N,) embedding distances."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return F.pairwise_distance(self.encoder(x1), self.encoder(x2), eps=0.0)


@dataclass(frozen=True)
class OneShotConfig:
    unseen_classes: str = "7,8,9"  # digits held out from training, comma-separated
    image_size: int = 8
    embedding_dim: int = 32
    width: int = 32
    loss: str = "triplet"
    mining: str = "semi_hard"
    margin: float = 0.5  # triplet margin on squared distances of unit vectors; contrastive uses 1.0
    per_class: int = 16  # K images per class in a batch
    steps: int = 300
    lr: float = 3e-3
    pairs: int = 2000  # verification pairs (half same, half different)
    seed: int = 0

    def unseen(self) -> tuple[int, ...]:
        try:
            classes = tuple(sorted({int(c) for c in self.unseen_classes.split(",") if c.strip()}))
        except ValueError:
            raise ConfigError(f"unseen_classes must list digits like '7,8,9', got {self.unseen_classes!r}") from None
        if len(classes) < 2 or not set(classes) <= set(range(10)) or len(classes) > 8:
            raise ConfigError(f"unseen_classes must hold 2 to 8 digits, got {self.unseen_classes!r}")
        return classes

    def validate(self) -> None:
        self.unseen()
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.mining not in MINERS:
            raise ConfigError(f"mining must be one of {', '.join(MINERS)}, got {self.mining!r}")
        require(learning_rate_check(self.lr))


def sample_pairs(labels: torch.Tensor, count: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """``count`` index pairs (i, j, same), half of the same class and half of different classes."""
    n = len(labels)
    i = torch.randint(0, n, (8 * count,), generator=generator)
    j = torch.randint(0, n, (8 * count,), generator=generator)
    same = (labels[i] == labels[j]) & (i != j)
    diff = labels[i] != labels[j]
    s, d = same.nonzero().squeeze(1)[:count // 2], diff.nonzero().squeeze(1)[:count - count // 2]
    pick = torch.cat([s, d])
    return i[pick], j[pick], torch.cat([torch.ones(len(s)), torch.zeros(len(d))]).bool()


def best_threshold(dist: torch.Tensor, same: torch.Tensor) -> float:
    """The distance threshold (same when below) with the highest accuracy on these pairs."""
    candidates = dist.sort().values
    accuracy = ((dist[None, :] <= candidates[:, None]) == same[None, :]).float().mean(1)
    k = int(accuracy.argmax())
    upper = candidates[k + 1] if k + 1 < len(candidates) else candidates[k]
    return float((candidates[k] + upper) / 2)


@torch.no_grad()
def pair_distances(model: SiameseNetwork, images: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    model.eval()
    emb = model.embed(images)
    return (emb[i] - emb[j]).norm(dim=1)


def train_siamese(cfg: OneShotConfig, device: torch.device, quiet: bool = True) -> dict:
    """Train on the seen digits, verify on the unseen ones; returns accuracies, threshold and the model."""
    unseen = cfg.unseen()
    seen = tuple(c for c in range(10) if c not in unseen)
    data = load_digits_splits(cfg.image_size, 1, test_fraction=0.2, valid_fraction=0.0, seed=cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    all_images = torch.cat([data.train.images, data.test.images])
    all_labels = torch.cat([data.train.labels, data.test.labels])
    in_train = torch.isin(data.train.labels, torch.tensor(seen))
    train_x, train_y = data.train.images[in_train].to(device), data.train.labels[in_train].to(device)
    val_keep = torch.isin(data.test.labels, torch.tensor(seen))
    val_x, val_y = data.test.images[val_keep].to(device), data.test.labels[val_keep]
    unseen_keep = torch.isin(all_labels, torch.tensor(unseen))
    test_x, test_y = all_images[unseen_keep].to(device), all_labels[unseen_keep]

    model = SiameseNetwork(Encoder(1, cfg.embedding_dim, cfg.width)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), cfg.lr)
    by_class = [(train_y == c).nonzero().squeeze(1).cpu() for c in seen]
    bar = progress_bar(cfg.steps, f"siamese ({cfg.loss})", "step", quiet)
    for step in range(1, cfg.steps + 1):
        index = torch.cat([rows[torch.randint(0, len(rows), (cfg.per_class,), generator=gen)] for rows in by_class])
        model.train()
        emb = model.embed(train_x[index.to(device)])
        labels = train_y[index.to(device)]
        if cfg.loss == "triplet":
            loss = mined_triplet_loss(emb, labels, cfg.margin, cfg.mining)
        else:
            a, b = torch.triu_indices(len(labels), len(labels), 1, device=device)
            loss = contrastive_loss(emb[a], emb[b], labels[a] == labels[b], margin=1.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.update(1)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise diverged(["loss"], f"at step {step}", None, "--set lr=...")
        set_postfix(bar, loss=value)
    bar.close()

    vi, vj, vsame = sample_pairs(val_y, cfg.pairs, gen)
    threshold = best_threshold(pair_distances(model, val_x, vi.to(device), vj.to(device)).cpu(), vsame)
    ti, tj, tsame = sample_pairs(test_y, cfg.pairs, gen)
    dist = pair_distances(model, test_x, ti.to(device), tj.to(device)).cpu()
    seen_dist = pair_distances(model, val_x, vi.to(device), vj.to(device)).cpu()
    return {"verification_accuracy": float(((dist <= threshold) == tsame).float().mean()),
            "seen_accuracy": float(((seen_dist <= threshold) == vsame).float().mean()),
            "threshold": threshold, "unseen_classes": list(unseen), "pairs": len(tsame),
            "loss": cfg.loss, "mining": cfg.mining if cfg.loss == "triplet" else None, "model": model}

