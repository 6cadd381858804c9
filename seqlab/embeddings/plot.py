"""Pictures of word vectors: a 2-D map of chosen words, and their projections on the gender direction.

The map projects the unit vectors with scikit-learn's PCA or t-SNE (van der Maaten & Hinton 2008;
perplexity min(30, n - 1), PCA initialisation) and labels every point. The bias plot draws cos(w, g)
of each word before and after debiasing (Bolukbasi et al. 2016, fig. 7 in spirit). matplotlib is an
optional dependency (``pip install 'seqlab[plot]'``); figures are drawn with the Agg backend, so no
display is needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from seqlab.embeddings.bias import present
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import ConfigError, DataError
from seqlab.io import atomic_path

PLOT_METHODS = ("tsne", "pca")


def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend, or ConfigError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("plots need matplotlib: pip install 'seqlab[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def project_2d(vectors: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """(n, D) unit vectors -> (n, 2) coordinates by PCA or t-SNE."""
    if method not in PLOT_METHODS:
        raise ConfigError(f"method must be one of {', '.join(PLOT_METHODS)}, got {method!r}")
    n = vectors.shape[0]
    if n < 3:
        raise DataError(f"a plot needs at least 3 known words, got {n}")
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(vectors)
    return TSNE(n_components=2, perplexity=min(30.0, n - 1.0), init="pca", random_state=seed).fit_transform(vectors)


def _save(fig: Any, path: str | os.PathLike, plt: Any) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_words(kv: KeyedVectors, words: list[str], path: str | os.PathLike, method: str = "tsne", seed: int = 0,
               title: str | None = None) -> tuple[Path, list[str]]:
    """Draw the labelled 2-D map of ``words`` (unknown ones left out) to ``path`` (format from the
    extension: .png, .pdf, .svg); returns (path, missing words)."""
    plt = pyplot()
    found, missing = present(kv, words)
    if len(found) < 3:
        raise DataError(f"a plot needs at least 3 words in the vocabulary; found {len(found)} of {len(words)}")
    unit = kv.unit_vectors()[[kv.index(w) for w in found]].cpu().double().numpy()
    xy = project_2d(unit, method, seed)
    size = max(6.0, min(16.0, 3.0 + 0.12 * len(found)))
    fig, ax = plt.subplots(figsize=(size, size * 0.75))
    ax.scatter(xy[:, 0], xy[:, 1], s=14, color="tab:blue")
    for (x, y), word in zip(xy, found, strict=True):
        ax.annotate(word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9)
    ax.set_title(title or f"{len(found)} words, {method.upper() if method == 'pca' else 't-SNE'}")
    ax.set_xticks([])
    ax.set_yticks([])
    return _save(fig, path, plt), missing


def plot_bias(before: dict[str, float], path: str | os.PathLike, after: dict[str, float] | None = None,
              title: str | None = None) -> Path:
    """Horizontal bars of cos(w, g) per word, before (and after) debiasing; positive = the "she" side."""
    plt = pyplot()
    words = list(before)
    if not words:
        raise DataError("no word to plot: none of the words is in the vocabulary")
    y = np.arange(len(words))
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.32 * len(words)))
    height = 0.4 if after is not None else 0.7
    ax.barh(y - (height / 2 if after is not None else 0), [before[w] for w in words], height=height,
            color="tab:orange", label="before")
    if after is not None:
        ax.barh(y + height / 2, [after.get(w, 0.0) for w in words], height=height, color="tab:blue",
                label="after debiasing")
    ax.set_yticks(y, words)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("cos(w, g): projection on the gender direction (+ she, - he)")
    ax.set_title(title or "projections on the gender direction")
    ax.legend(loc="lower right")
    return _save(fig, path, plt)
