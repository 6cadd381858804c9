"""Settings of a sentiment run, in four sections: data, vectors (and vocabulary), model, train."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from seqlab.config import check_finite, learning_rate_check, part, setting
from seqlab.errors import ConfigError
from seqlab.memory import check_fits
from seqlab.rnn.cells import rnn_weight_count
from seqlab.sentiment.data import FORMATS
from seqlab.sentiment.model import Architecture, ModelConfig

LOSSES = ("ce", "focal")
CLASS_WEIGHTS = ("none", "balanced")


@dataclass(frozen=True)
class DataSettings:
    """The data section: SST (``LABEL text``), tsv (``label<TAB>text``) or csv files; dev = "" holds out
    dev_fraction of train."""

    SECTION = "data"

    train: str = "../shared/data/sst/stsa.fine.train"
    dev: str = "../shared/data/sst/stsa.fine.dev"
    test: str = "../shared/data/sst/stsa.fine.test"
    format: str = "auto"
    label_column: str = "0"  # csv: 0-based index or header name
    text_column: str = "1"
    header: bool = False
    num_classes: int = 5
    labels: str = ""  # comma-separated class names (default: SST's for 2 and 5 classes)
    dev_fraction: float = 0.1
    lowercase: bool = True
    max_train: int = 0  # use only the first N training sentences (0 = all)
    augment: int = 0  # binary: add this many templated negation/contrast phrases to train (seqlab.sentiment.augment)


@dataclass(frozen=True)
class VectorsSettings:
    """The vectors section: the vocabulary and the pretrained vectors or encoder it starts from."""

    SECTION = "vectors"

    min_count: int = 1
    max_vocab: int = 0
    vectors: str = setting("default", "Pretrained vectors: 'default', a word2vec .txt/.bin, a seqlab directory or a "
                                      "GloVe text file; '' for random init.", flag=True)
    encoder: str = setting("", "A pretrained encoder directory (seqlab sentiment pretrain ... --encoder DIR): the RNN "
                               "and its word vectors start from it.", flag=True)
    extend_vocab: bool = setting(False, "Also give every word of the pretrained vectors a row, not only the "
                                        "training words.", flag=True)
    extend_vocab_limit: int = 200_000  # at most this many words added from the vectors (0 = all)


@dataclass(frozen=True)
class ModelSettings(Architecture):
    """The model section: the architecture and its kind."""

    SECTION = "model"

    model: str = setting("rnn", "Model kind.", flag=True, choices=("rnn", "nbow"))  # ModelConfig.kind


@dataclass(frozen=True)
class TrainSettings:
    """The train section: loss, optimisation, early stopping, checkpoints, the stored precision."""

    SECTION = "train"

    loss: str = "ce"
    focal_gamma: float = 2.0
    class_weights: str = "none"
    epochs: int = setting(20, "Maximum epochs.", flag=True)
    batch_size: int = setting(32, "Sentences per batch.", flag=True)
    lr: float = setting(1e-3, "Adam learning rate.", flag=True)
    weight_decay: float = 0.0
    embedding_lr_scale: float = 1.0  # the embeddings' learning rate is lr times this (0 < scale)
    clip_norm: float = 5.0
    ema_decay: float = 0.0  # > 0: validate and save a moving average of the weights (e.g. 0.998; 0 = off)
    patience: int = 5  # epochs without a better dev accuracy before stopping
    checkpoint_minutes: float = 10.0
    seed: int = setting(1, "Random seed.", flag=True)
    store_dtype: str = "float32"  # float16 halves model.safetensors (embeddings and weights; computed in float32)


@dataclass(frozen=True)
class SentimentConfig(TrainSettings, ModelSettings, VectorsSettings, DataSettings):
    """A sentiment run in four sections (data, vectors, model, train), each field declared once; flat TOML
    (``key = value`` or a ``[sentiment]`` table) and sectioned (``[sentiment.model]``) read the same. Defaults:
    a one-layer BiLSTM over 100-d pretrained vectors on SST-5 (paths relative to the repo root)."""

    def validate(self) -> None:
        check_finite(self)
        checks = [
            (bool(self.train), "train (a file path) is required"),
            (self.format in FORMATS, f"format must be one of {', '.join(FORMATS)}"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}"),
            (self.class_weights in CLASS_WEIGHTS, f"class_weights must be one of {', '.join(CLASS_WEIGHTS)}"),
            (self.store_dtype in ("float32", "float16"), "store_dtype must be float32 or float16"),
            (self.num_classes >= 2, "num_classes must be at least 2"),
            (0 < self.dev_fraction < 1, "dev_fraction must be in (0, 1)"),
            (min(self.emb_dim, self.hidden_size, self.num_layers, self.min_count) >= 1, "sizes must be >= 1"),
            (min(self.hidden_layers, self.max_vocab, self.max_train, self.extend_vocab_limit, self.augment) >= 0,
             "hidden_layers, max_vocab, max_train, extend_vocab_limit and augment must be >= 0"),
            (not self.augment or self.num_classes == 2, "augment needs num_classes = 2 (negative, positive)"),
            (0 <= self.dropout < 1 and 0 <= self.word_dropout < 1, "dropout and word_dropout must be in [0, 1)"),
            (self.embedding_dropout < 1, "embedding_dropout must be below 1 (< 0: the same as dropout)"),
            (self.epochs >= 1 and self.batch_size >= 1 and self.patience >= 1,
             "epochs, batch_size and patience must be at least 1"),
            learning_rate_check(self.lr),
            (self.focal_gamma >= 0, "focal_gamma must be >= 0"),
            (0 <= self.ema_decay < 1, "ema_decay must be in [0, 1) (0 = no weight average)"),
            (self.embedding_lr_scale > 0, "embedding_lr_scale must be positive (freeze_embeddings = true for 0)"),
        ]
        checks.append((not self.encoder or self.model == "rnn", "a pretrained encoder needs model = rnn"))
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        self.model_config(2).validate()

    def model_config(self, vocab_size: int, fixed_rows: int = 0) -> ModelConfig:
        """The architecture for a vocabulary of ``vocab_size`` words (the last ``fixed_rows`` of them fixed);
        ConfigError when its float32 weights alone could not be allocated in the memory available."""
        check_fits(4 * weight_count(self, vocab_size), f"a sentiment {self.model} model with emb_dim {self.emb_dim}, "
                   f"hidden_size {self.hidden_size} and {vocab_size} words")
        return ModelConfig(**dataclasses.asdict(part(self, Architecture)), vocab_size=vocab_size,
                           num_classes=self.num_classes, kind=self.model, fixed_rows=fixed_rows)


def weight_count(cfg: SentimentConfig, vocab_size: int) -> int:
    """A lower bound of the parameters (and fixed rows) of its model: the word vectors, the RNN or the hidden
    layers, and the output layer, without biases (Python integers: no overflow, nothing allocated)."""
    h = cfg.hidden_size
    table = vocab_size * cfg.emb_dim
    if cfg.model == "nbow":
        hidden = cfg.emb_dim * h + (cfg.hidden_layers - 1) * h * h if cfg.hidden_layers else 0
        return table + hidden + (h if cfg.hidden_layers else cfg.emb_dim) * cfg.num_classes
    return table + rnn_weight_count(cfg.cell, cfg.emb_dim, h, cfg.num_layers, cfg.bidirectional) + h * cfg.num_classes
