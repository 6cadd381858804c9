"""Training a sentence classifier: Adam, early stopping on dev accuracy, best + last checkpoints, resume.

Each step minimises the mean cross-entropy (or focal loss) of a shuffled mini-batch. After every
epoch the model is scored on the dev set; the model with the best dev accuracy so far (ties: lower
dev loss) is saved as ``<out>/model.safetensors``, the training state as ``<out>/last.safetensors`` (also every
``checkpoint_minutes``), both atomically. ``resume`` continues from ``last.safetensors`` at the batch where it
stopped, with the same random state. Training stops after ``patience`` epochs without a better dev
accuracy; the best model is then scored on the test set when one is configured. With ``ema_decay``
the weights validated and saved are an exponential moving average of the trained ones
(:class:`seqlab.training.WeightAverage`), which smooths the epoch-to-epoch noise of a small dataset.
Under ``torchrun`` each process trains on its share of every global batch of ``batch_size * N`` sentences
(:mod:`seqlab.distributed`; with class weights the shares are weighed by them), and N processes take the
steps one process takes with the whole batch.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import torch

from seqlab.device import make_generator, resolve_device
from seqlab.errors import ConfigError, DataError
from seqlab.io import claim_output
from seqlab.sentiment.augment import negation_phrases
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.data import (
    Coverage,
    Examples,
    align_vectors,
    build_words,
    encode,
    extend_words,
    label_names,
    load_vectors,
    pad_batch,
    read_examples,
    tokenize,
)
from seqlab.sentiment.lm import check_encoder_fits, load_encoder
from seqlab.sentiment.model import SentimentModel, classification_loss
from seqlab.sentiment.predict import MODEL_FILE, Classifier, model_state, save_model
from seqlab.training import EpochTrainer, WeightAverage, check_same_architecture, load_training_state

TRAIN_KIND = "sentiment-train"
LAST_FILE = "last.safetensors"
BUCKET_POOL = 20  # batches per length-sorted pool


@dataclasses.dataclass
class Splits:
    """The labelled data of one run (test may be None) and the class names."""

    train: Examples
    dev: Examples
    test: Examples | None
    labels: tuple[str, ...]


def load_splits(cfg: SentimentConfig) -> Splits:
    """Read train/dev/test as configured; without a dev file, hold out ``dev_fraction`` of train (seeded)."""
    names = label_names(cfg.num_classes, cfg.labels)

    def read(path: str) -> Examples:
        return read_examples(path, names, cfg.format, cfg.label_column, cfg.text_column, cfg.header, cfg.lowercase)

    train = read(cfg.train)
    if cfg.max_train:
        train = Examples(train.tokens[:cfg.max_train], train.labels[:cfg.max_train], train.source,
                         train.lines[:cfg.max_train])
    if cfg.dev:
        dev = read(cfg.dev)
    else:
        perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.seed)).tolist()
        cut = max(1, round(cfg.dev_fraction * len(train)))
        if cut >= len(train):
            raise DataError(f"{cfg.train}: {len(train)} sentences are too few to hold out a dev set")

        def pick(index: list[int]) -> Examples:
            return Examples([train.tokens[i] for i in index], [train.labels[i] for i in index], train.source,
                            [train.lines[i] for i in index])

        train, dev = pick(sorted(perm[cut:])), pick(sorted(perm[:cut]))
    if cfg.augment:  # after the dev split: dev holds only sentences of the files
        train = add_phrases(train, cfg.augment, cfg.seed)
    test = read(cfg.test) if cfg.test else None
    return Splits(train, dev, test, names)


def add_phrases(train: Examples, count: int, seed: int) -> Examples:
    """``train`` followed by ``count`` templated negation/contrast phrases (:mod:`seqlab.sentiment.augment`,
    line number 0: they come from no file)."""
    phrases = negation_phrases(count, seed)
    return Examples(train.tokens + [tokenize(p.text) for p in phrases], train.labels + [p.label for p in phrases],
                    train.source, train.lines + [0] * len(phrases))


def class_weights(labels: list[int], num_classes: int) -> torch.Tensor:
    """scikit-learn's "balanced" weights n / (C * n_c) (a class absent from the data gets weight 0)."""
    counts = torch.bincount(torch.tensor(labels), minlength=num_classes).double()
    return torch.where(counts > 0, len(labels) / (num_classes * counts.clamp_min(1)), 0.0).float()


class SentimentTrainer(EpochTrainer):
    """Owns the data, vocabulary, model and optimiser of one run; ``fit`` trains, ``step`` takes one step."""

    kind, section = TRAIN_KIND, "sentiment"

    def __init__(self, cfg: SentimentConfig, out_dir: str | os.PathLike, device: torch.device,
                 splits: Splits | None = None, words: list[str] | None = None, quiet: bool = False,
                 log: Callable[[str], None] | None = None, fixed_rows: int = 0) -> None:
        device = self.join(device, log)  # torchrun: rank, world, this rank's GPU, rank 0's log
        self.cfg, self.out, self.device, self.quiet = cfg, Path(out_dir), device, quiet
        self.splits = splits or load_splits(cfg)
        train = self.splits.train
        vectors, encoder = None, None
        if words is None:  # a resumed run takes its vocabulary, fixed rows and embeddings from the checkpoint
            words = build_words(train.tokens, cfg.min_count, cfg.max_vocab, source=train.source)
            base = len(words)
            if cfg.encoder:  # a pretrained encoder brings its own word vectors
                encoder = load_encoder(cfg.encoder)
                check_encoder_fits(encoder, cfg.cell, cfg.emb_dim, cfg.hidden_size, cfg.num_layers,
                                   cfg.bidirectional, cfg.encoder)
                vectors = (encoder["words"][2:], encoder["embedding"][2:].numpy())
            elif cfg.vectors:
                vectors = load_vectors(cfg.vectors, None if cfg.extend_vocab else set(words))
            if vectors is not None and cfg.extend_vocab:
                words = extend_words(words, vectors[0], cfg.lowercase, cfg.extend_vocab_limit)
            fixed_rows = len(words) - base
        self.words = words
        self.fixed_rows = fixed_rows
        self.index = {w: i for i, w in enumerate(self.words)}
        self.train_ids = [encode(t, self.index) for t in train.tokens]
        self.dev_ids = [encode(t, self.index) for t in self.splits.dev.tokens]
        torch.manual_seed(cfg.seed)  # initial weights and dropout
        self.coverage: Coverage | None = None
        embeddings = None
        if vectors is not None:
            counts = Counter(w for t in train.tokens for w in t)
            if vectors[1].shape[1] != cfg.emb_dim:
                raise ConfigError(f"vectors {cfg.vectors!r} have {vectors[1].shape[1]} dimensions but emb_dim is "
                                  f"{cfg.emb_dim}; set emb_dim = {vectors[1].shape[1]}")
            embeddings, self.coverage = align_vectors(self.words, counts, vectors, make_generator(cfg.seed, "cpu"),
                                                      base)
            self.log(str(self.coverage))
        self.model = SentimentModel(cfg.model_config(len(self.words), self.fixed_rows), embeddings).to(device)
        if encoder is not None:
            self.model.rnn.load_state_dict(encoder["rnn"])
            self.log(f"recurrent layer from the pretrained encoder {cfg.encoder}")
        self.net = self.parallel.wrap(self.model)  # DDP under torchrun
        embedding = self.model.embedding.weight
        apart = embedding.requires_grad and cfg.embedding_lr_scale != 1.0  # fine-tuned vectors moving more slowly
        rest = [p for p in self.model.parameters() if p.requires_grad and not (apart and p is embedding)]
        groups = [{"params": rest}]
        if apart:
            groups.append({"params": [embedding], "lr": cfg.lr * cfg.embedding_lr_scale})
        self.optimizer = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.average = WeightAverage(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.weight = (class_weights(train.labels, cfg.num_classes).to(device)
                       if cfg.class_weights == "balanced" else None)
        self.labels = torch.tensor(train.labels)
        self.generator = make_generator(cfg.seed, torch.device("cpu"))
        self.init_loop()

    # --- one step -------------------------------------------------------------------------------
    def step(self, index: list[int]) -> float:
        """One Adam step on the training sentences ``index`` (the global batch; this rank's shard of it under
        torchrun); returns the batch loss, the global batch's under torchrun too."""
        self.model.train()
        part = self.shard(index)
        ids, lengths = pad_batch([self.train_ids[i] for i in part], self.device)
        target = self.labels[part].to(self.device)
        loss = classification_loss(self.net(ids, lengths), target, self.cfg.loss, self.weight, self.cfg.focal_gamma)
        # the loss is a mean over the shard's sentences, weighted by class with class_weights: its share of the
        # global batch's mean is the shard's part of the denominator
        local: float | torch.Tensor = float(len(part))
        total: float | torch.Tensor = float(len(index))
        if self.weight is not None and self.world > 1:
            local = self.weight[target].sum()
            total = self.parallel.all_sum(local.clone())
        self.optimizer.zero_grad(set_to_none=True)
        self.parallel.for_backward(loss, local, total).backward()
        loss = self.parallel.mean({"loss": loss.detach()}, local, total)["loss"]
        if self.cfg.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.optimizer.step()
        if self.average is not None:
            self.average.update()
        self.step_count += 1
        return float(loss.detach())

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Dev accuracy and mean cross-entropy (of the moving average of the weights with ema_decay)."""
        self.model.eval()
        labels = torch.tensor(self.splits.dev.labels)
        correct, loss = 0, 0.0
        for start in range(0, len(self.dev_ids), 256):
            ids, lengths = pad_batch(self.dev_ids[start:start + 256], self.device)
            logits = self.model(ids, lengths).float().cpu()
            target = labels[start:start + 256]
            loss += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
        return {"dev_accuracy": correct / len(labels), "dev_loss": loss / len(labels)}

    def selection_key(self, metrics: dict, record: dict) -> list[float]:
        return [metrics["dev_accuracy"], -metrics["dev_loss"]]  # ties: lower dev loss

    def save_best(self, record: dict) -> None:
        save_model(self.out, model_state(self.model, self.cfg, self.words, self.splits.labels, record))

    def describe(self, record: dict, improved: bool) -> str:
        return (f"epoch {record['epoch']}: train loss {record.get('train_loss', 0.0):.3f}, dev loss "
                f"{record['dev_loss']:.3f}, dev accuracy {100 * record['dev_accuracy']:.2f}%"
                f"{' (best)' if improved else ''}")

    # --- checkpoints ----------------------------------------------------------------------------
    def extra_state(self) -> dict:
        return {"words": self.words, "fixed_rows": self.fixed_rows, "optimizer": self.optimizer.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])

    def epoch_batches(self) -> list[list[int]]:
        """This epoch's batches (the same again after a resume): the shuffled sentences are cut into pools
        of ``BUCKET_POOL`` batches, each pool sorted by length (less padding for the RNN) and cut into
        batches, and the batches shuffled."""
        self.generator.set_state(self.epoch_generator_state)
        perm = torch.randperm(len(self.train_ids), generator=self.generator).tolist()
        size = self.cfg.batch_size * self.world  # global batches: each rank trains on its shard
        batches = []
        for start in range(0, len(perm), size * BUCKET_POOL):
            pool = sorted(perm[start:start + size * BUCKET_POOL], key=lambda i: len(self.train_ids[i]))
            batches += [pool[i:i + size] for i in range(0, len(pool), size)]
        order = torch.randperm(len(batches), generator=self.generator).tolist()
        return [batches[i] for i in order]

    def summary(self) -> dict:
        summary = {"best_dev_accuracy": self.best_key[0] if self.best_key else 0.0, "epochs": self.epoch,
                   "steps": self.step_count, "vocab_size": len(self.words), "history": self.history,
                   "model": str(self.out / MODEL_FILE)}
        if self.coverage:
            summary["coverage"] = {"types": self.coverage.types, "tokens": self.coverage.token_share}
        if self.splits.test is not None:
            test = Classifier.load(self.out, self.device).evaluate(self.splits.test)
            summary.update(test_accuracy=test.accuracy, test_macro_f1=test.macro_f1)
            self.log(f"test accuracy {100 * test.accuracy:.2f}%, macro-F1 {100 * test.macro_f1:.2f} "
                     f"({test.sentences} sentences, best model)")
        return summary


def train_sentiment(cfg: SentimentConfig, out_dir: str | os.PathLike, device: torch.device | str = "auto",
                    resume: bool = False, quiet: bool = False, log: Callable[[str], None] | None = None,
                    splits: Splits | None = None) -> dict:
    """Train (or with ``resume`` continue) a classifier into ``out_dir``; returns the run's summary."""
    device = resolve_device(device)
    with claim_output(out_dir, directory=True) as out:
        state = None
        if resume:
            state = load_training_state(out / LAST_FILE, TRAIN_KIND, "sentiment")
            saved = SentimentConfig(**state["config"])
            check_same_architecture(saved.model_config(1) == cfg.model_config(1), out / LAST_FILE)
        trainer = SentimentTrainer(cfg, out, device, splits=splits, words=state["words"] if state else None,
                                   quiet=quiet, log=log, fixed_rows=state.get("fixed_rows", 0) if state else 0)
        if state:
            trainer.load_state(state)
        return trainer.fit()
