"""A trained sentiment model with its vocabulary and class names: predict, evaluate, save and load.

A model directory holds ``model.safetensors`` (weights, architecture, the run's settings, the id -> word list
and the class names; written atomically) and ``config.toml``. Metrics come from scikit-learn
(accuracy, macro-F1, confusion matrix, per-class report).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqlab.device import resolve_device
from seqlab.errors import ConfigError, DataError
from seqlab.io import decode_utf8, incompatible_checkpoint, load_model_dir, save_model_dir
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.data import UNK, Examples, encode, pad_batch, tokenize
from seqlab.sentiment.model import ModelConfig, SentimentModel
from seqlab.shipped import shipped_model

MODEL_KIND = "sentiment-model"
MODEL_FILE = "model.safetensors"
DEFAULT_MODEL = "sentiment_sst2"


def model_state(model: SentimentModel, cfg: SentimentConfig, words: Sequence[str], labels: Sequence[str],
                metrics: dict | None = None) -> dict:
    """Everything :meth:`Classifier.load` needs; floating tensors in ``cfg.store_dtype``."""
    dtype = torch.float16 if cfg.store_dtype == "float16" else torch.float32
    weights = {k: (v.detach().cpu().to(dtype) if v.is_floating_point() else v.detach().cpu())
               for k, v in model.state_dict().items()}
    return {"kind": MODEL_KIND, "model": weights, "model_config": dataclasses.asdict(model.cfg),
            "config": dataclasses.asdict(cfg), "words": list(words), "labels": list(labels),
            "metrics": metrics or {}}


def save_model(path: str | os.PathLike, state: dict) -> Path:
    """Write a model state into directory ``path`` as model.safetensors, atomically."""
    return save_model_dir(path, state, MODEL_FILE)


@dataclass
class Prediction:
    """One text's label and class probabilities, or an error message (then label is "")."""

    text: str
    label: str
    probabilities: dict[str, float]
    error: str | None = None
    warning: str | None = None


@dataclass
class Evaluation:
    """scikit-learn's metrics of a model on labelled sentences."""

    accuracy: float
    macro_f1: float
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted
    labels: list[str]
    report: str
    per_class: dict
    sentences: int

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "confusion_matrix": self.confusion_matrix,
                "labels": self.labels, "per_class": self.per_class, "sentences": self.sentences}


def score(labels: Sequence[int], predicted: Sequence[int], names: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1, confusion matrix and the classification report (scikit-learn)."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

    classes = list(range(len(names)))
    report = classification_report(labels, predicted, labels=classes, target_names=list(names), digits=4,
                                   zero_division=0)
    per_class = classification_report(labels, predicted, labels=classes, target_names=list(names),
                                      output_dict=True, zero_division=0)
    return Evaluation(float(accuracy_score(labels, predicted)),
                      float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
                      confusion_matrix(labels, predicted, labels=classes).tolist(), list(names), report,
                      {n: per_class[n] for n in names}, len(labels))


def plot_confusion(evaluation: Evaluation, path: str | os.PathLike, title: str = "") -> Path:
    """Draw the confusion matrix (counts, rows = true class) into an image file; needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("the confusion-matrix plot needs matplotlib: pip install 'seqlab[plot]'") from None
    from sklearn.metrics import ConfusionMatrixDisplay

    size = 2.5 + 0.9 * len(evaluation.labels)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay(np.asarray(evaluation.confusion_matrix), display_labels=evaluation.labels).plot(
        ax=ax, colorbar=False, cmap="Blues", xticks_rotation=30)
    ax.set_title(title or f"accuracy {100 * evaluation.accuracy:.1f}%, macro-F1 {100 * evaluation.macro_f1:.1f}")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


class Classifier:
    """``Classifier.load(dir).predict(["not good at all"])`` -> [Prediction(label='negative', ...)]."""

    def __init__(self, model: SentimentModel, cfg: SentimentConfig, words: Sequence[str], labels: Sequence[str],
                 device: torch.device | str = "cpu") -> None:
        self.model, self.cfg = model.eval(), cfg
        self.words, self.labels = list(words), list(labels)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.device = torch.device(device)

    @classmethod
    def load(cls, path: str | os.PathLike, device: torch.device | str = "cpu") -> Classifier:
        """A model directory (or its model file) on ``device`` (``auto``, ``cpu``, ``cuda[:N]`` or a torch.device)."""
        file, state = load_model_dir(path, MODEL_KIND, "sentiment", MODEL_FILE)
        with incompatible_checkpoint(file, "sentiment"):
            cfg = SentimentConfig(**state["config"])
            model = SentimentModel(ModelConfig(**state["model_config"]))
            model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["model"].items()})
        device = resolve_device(device)
        return cls(model.to(device), cfg, state["words"], state["labels"], device)

    @torch.no_grad()
    def probabilities(self, tokens: Sequence[Sequence[str]], batch_size: int = 256) -> torch.Tensor:
        """Class probabilities (N, C) of tokenised sentences (each non-empty), in length-sorted batches."""
        ids = [encode(t, self.index) for t in tokens]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = torch.empty(len(ids), len(self.labels))
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            batch, lengths = pad_batch([ids[i] for i in index], self.device)
            out[index] = torch.softmax(self.model(batch, lengths).float(), dim=-1).cpu()
        return out

    def predict(self, texts: Sequence[str | bytes], batch_size: int = 256) -> list[Prediction]:
        """Label and probabilities of each text (str, or bytes decoded as UTF-8); an empty or undecodable
        text gets an error (and does not stop the others), one with no known word a warning."""
        decoded = [decode_utf8(t, "text") for t in texts]
        tokens = [tokenize(text, self.cfg.lowercase) if error is None else [] for text, error in decoded]
        good = [i for i, t in enumerate(tokens) if t]
        probs = self.probabilities([tokens[i] for i in good], batch_size)
        results = [Prediction(text, "", {}, error=error or "empty text") for text, error in decoded]
        for row, i in enumerate(good):
            p = probs[row].tolist()
            unknown = all(self.index.get(w, UNK) == UNK for w in tokens[i])
            warning = ("no word of the text is in the model's vocabulary; the label reflects only the model's "
                       "prior" if unknown else None)
            results[i] = Prediction(decoded[i][0], self.labels[int(np.argmax(p))],
                                    dict(zip(self.labels, p, strict=True)), warning=warning)
        return results

    def evaluate(self, examples: Examples, batch_size: int = 256) -> Evaluation:
        """Accuracy, macro-F1, confusion matrix and report on labelled sentences."""
        if max(examples.labels) >= len(self.labels):
            raise DataError(f"{examples.source}: label {max(examples.labels)} is out of range for the model's "
                            f"{len(self.labels)} classes")
        predicted = self.probabilities(examples.tokens, batch_size).argmax(1).tolist()
        return score(examples.labels, predicted, self.labels)


def default_model_path() -> Path:
    """The small binary SST-2 model shipped in ``data/sentiment_sst2`` (see data/README.md); DataError when
    missing."""
    return shipped_model(DEFAULT_MODEL)
