"""Sentence classifiers: the neural bag of words / deep averaging network and the many-to-one RNN.

NBoW: ``a = (1/n) sum_t E[w_t]``, then (DAN, Iyyer et al. 2015, sec. 3) ``h_k = relu(W_k h_{k-1} + b_k)``
for ``hidden_layers`` layers from ``h_0 = a``, then ``softmax(W h + b)``. Word dropout drops whole
words from the average during training (Iyyer et al. 2015, sec. 3.1).

RNN: ``o_1..o_n = RNN(E[w_1..w_n])`` with any seqlab cell, stacked and bidirectional; the sentence
vector is the final state (the forward direction at each sentence's own last word, the backward
direction at its first; for several layers the top layer's) or the max / mean of ``o_t`` over the
real steps, or both side by side (``maxmean``, as in Conneau et al. 2017's comparison of pooling);
then dropout and ``softmax(W s + b)``. Unlike the average, the RNN sees word order, so
"not good" need not mean what "good" and "not" mean on their own.

Losses: cross-entropy with optional class weights, or focal loss
``-(1 - p_t)^gamma log p_t`` (Lin et al. 2017, eq. 4; gamma 2; the one in :mod:`seqlab.losses`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab import losses
from seqlab.config import setting
from seqlab.errors import ConfigError
from seqlab.rnn import RNN
from seqlab.rnn.cells import CELL_NAMES
from seqlab.sentiment.data import PAD
from seqlab.text.padding import length_mask

KINDS = ("nbow", "rnn")
POOLINGS = ("last", "max", "mean", "maxmean")


@dataclass(frozen=True)
class Architecture:
    """The network's shape: what the model section of a sentiment config and :class:`ModelConfig` share."""

    emb_dim: int = 100
    hidden_layers: int = 0  # nbow: layers after the average (0 = NBoW, >= 1 = DAN)
    hidden_size: int = 150
    cell: str = setting("lstm", "Recurrent cell (lstm, gru, mingru, peephole, cifg, rnn).", flag=True)
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = setting("last", "RNN sentence vector (maxmean: max and mean side by side).", flag=True,
                           choices=POOLINGS)
    dropout: float = 0.5
    embedding_dropout: float = -1.0  # rnn: dropout on the word vectors (< 0: the same as dropout)
    word_dropout: float = 0.0
    freeze_embeddings: bool = False


@dataclass(frozen=True)
class ModelConfig(Architecture):
    """Everything needed to rebuild the module from a state dict: the architecture, its kind (``rnn`` or
    ``nbow``: the ``model`` setting of a config) and what the data gave it."""

    vocab_size: int = 0
    num_classes: int = 2
    kind: str = "rnn"
    fixed_rows: int = 0  # the last rows of the vocabulary: pretrained vectors of words not in the training data

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"model must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if self.cell not in CELL_NAMES:
            raise ConfigError(f"cell must be one of {', '.join(CELL_NAMES)}, got {self.cell!r}")
        if not 0 <= self.fixed_rows <= self.vocab_size - 2:
            raise ConfigError(f"fixed_rows must be in [0, vocab_size - 2], got {self.fixed_rows}")
        if self.num_classes < 2:
            raise ConfigError(f"need at least 2 classes, got {self.num_classes}")


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of x (batch, time, features) over the steps where mask (batch, time) is True; 0 for none."""
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Max of x (batch, time, features) over the real steps; 0 for a sequence with none."""
    filled = x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
    return torch.where(mask.any(1, keepdim=True), filled, torch.zeros_like(filled))


def final_states(h_n: Tensor, num_layers: int, bidirectional: bool) -> Tensor:
    """The top layer's final state(s): h_n (layers * D, batch, hidden) -> (batch, D * hidden)."""
    d = 2 if bidirectional else 1
    top = h_n.view(num_layers, d, *h_n.shape[1:])[-1]  # (D, batch, hidden)
    return top.transpose(0, 1).reshape(h_n.shape[1], -1)


class SentimentModel(nn.Module):
    """``forward(ids (batch, time), lengths (batch,)) -> logits (batch, num_classes)``."""

    def __init__(self, cfg: ModelConfig, embeddings: Tensor | None = None) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        trained = cfg.vocab_size - cfg.fixed_rows
        self.embedding = nn.Embedding(trained, cfg.emb_dim, padding_idx=PAD)
        # words seen only outside the training data keep their pretrained vectors: a buffer, not a
        # parameter (they would get no gradient anyway, and Adam would spend time on their zeros)
        self.register_buffer("fixed_embedding", torch.zeros(cfg.fixed_rows, cfg.emb_dim) if cfg.fixed_rows else None)
        if embeddings is not None:
            if tuple(embeddings.shape) != (cfg.vocab_size, cfg.emb_dim):
                raise ConfigError(f"pretrained embeddings are {tuple(embeddings.shape)}, the model needs "
                                  f"({cfg.vocab_size}, {cfg.emb_dim}); set emb_dim to the vectors' size")
            with torch.no_grad():
                self.embedding.weight.copy_(embeddings[:trained])
                if cfg.fixed_rows:
                    self.fixed_embedding.copy_(embeddings[trained:])
        self.embedding.weight.requires_grad_(not cfg.freeze_embeddings)
        self.dropout = nn.Dropout(cfg.dropout)
        self.embedding_dropout = nn.Dropout(cfg.dropout if cfg.embedding_dropout < 0 else cfg.embedding_dropout)
        if cfg.kind == "nbow":
            layers: list[nn.Module] = []
            size = cfg.emb_dim
            for _ in range(cfg.hidden_layers):
                layers += [nn.Linear(size, cfg.hidden_size), nn.ReLU(), nn.Dropout(cfg.dropout)]
                size = cfg.hidden_size
            self.hidden = nn.Sequential(*layers)
            self.rnn = None
        else:
            self.rnn = RNN(cfg.cell, cfg.emb_dim, cfg.hidden_size, num_layers=cfg.num_layers,
                           bidirectional=cfg.bidirectional, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
                           batch_first=True)
            size = cfg.hidden_size * (2 if cfg.bidirectional else 1) * (2 if cfg.pooling == "maxmean" else 1)
        self.output = nn.Linear(size, cfg.num_classes)

    def embed(self, ids: Tensor) -> Tensor:
        """Word vectors (..., emb_dim) of ids: trained rows, then the fixed pretrained rows."""
        if not self.cfg.fixed_rows:
            return self.embedding(ids)
        trained = self.embedding.num_embeddings
        known = ids < trained
        emb = self.embedding(ids.masked_fill(~known, PAD))
        fixed = F.embedding((ids - trained).clamp_min(0), self.fixed_embedding)
        return torch.where(known.unsqueeze(-1), emb, fixed)

    def embedding_matrix(self) -> Tensor:
        """All word vectors (vocab_size, emb_dim), trained rows first."""
        if not self.cfg.fixed_rows:
            return self.embedding.weight
        return torch.cat([self.embedding.weight, self.fixed_embedding])

    def features(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """The sentence vector (batch, features) the output layer reads."""
        mask = length_mask(lengths, ids.shape[1])
        emb = self.embed(ids)
        if self.rnn is None:
            if self.training and self.cfg.word_dropout > 0:
                kept = mask & (torch.rand(mask.shape, device=mask.device) >= self.cfg.word_dropout)
                mask = torch.where(kept.any(1, keepdim=True), kept, mask)  # never drop every word
            return self.hidden(masked_mean(emb, mask))
        if self.training and self.cfg.word_dropout > 0:
            # drop whole words: a dropped token's vector is zeroed (Gal & Ghahramani 2016's word
            # dropout), so the RNN learns not to lean on any one word
            kept = torch.rand(mask.shape, device=mask.device) >= self.cfg.word_dropout
            emb = emb * kept.unsqueeze(2).to(emb.dtype)
        out, state = self.rnn(self.embedding_dropout(emb), lengths=lengths.cpu())
        pooling = self.cfg.pooling
        if pooling == "last":
            h_n = state[0] if isinstance(state, tuple) else state
            return final_states(h_n, self.cfg.num_layers, self.cfg.bidirectional)
        if pooling == "maxmean":
            return torch.cat([masked_max(out, mask), masked_mean(out, mask)], dim=-1)
        return masked_max(out, mask) if pooling == "max" else masked_mean(out, mask)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        return self.output(self.dropout(self.features(ids, lengths)))


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0, weight: Tensor | None = None) -> Tensor:
    """Mean focal loss -(1 - p_t)^gamma * w_t * log p_t / sum w_t over the batch, in float32: logits
    (batch, C), target (batch,), class weights (C,). :func:`seqlab.losses.focal_loss` with this order."""
    return losses.focal_loss(logits.float(), target, gamma, weight=weight)


def classification_loss(logits: Tensor, target: Tensor, loss: str = "ce", weight: Tensor | None = None,
                        gamma: float = 2.0) -> Tensor:
    """The training loss: ``ce`` (cross-entropy) or ``focal``, with optional class weights (C,)."""
    if loss == "focal":
        return focal_loss(logits, target, gamma, weight)
    return F.cross_entropy(logits.float(), target, weight=weight)
