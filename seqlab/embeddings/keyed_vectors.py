"""Word vectors and their queries: a small, gensim-compatible ``KeyedVectors``.

A vocabulary of V words indexes the rows of a (V, D) float32 matrix. Queries run on the unit-normalised
rows u_i = v_i / ||v_i||, kept on ``device`` (CPU or CUDA, same code) and scored as one matrix product:

* 3CosAdd (Mikolov et al., 2013, "Linguistic Regularities in Continuous Space Word Representations"):
  score(w) = cos(u_w, m) with m = sum_i s_i u_i, s_i = +1 for positive and -1 for negative words.
  ``analogy(a, b, c)`` asks for a - b + c, so king - man + woman -> queen.
* 3CosMul (Levy & Goldberg, 2014, "Linguistic Regularities in Sparse and Explicit Word
  Representations", eq. 4 with cosines shifted to [0, 1] as in their footnote 7):
  score(w) = prod_pos (1 + cos(u_w, u_p)) / 2 / (prod_neg (1 + cos(u_w, u_n)) / 2 + 1e-6).

Both follow gensim 4.4's ``most_similar`` / ``most_similar_cosmul`` exactly, query words excluded, and so
do the other queries gensim users reach for (distances, ``n_similarity``, ``closer_than``, ``rank``,
``get_mean_vector``, Word Mover's Distance, ``add_vectors``): their argument rules live in
:class:`~seqlab.embeddings.nearest.Queries`, shared with the numpy ``VectorIndex``; this class scores the
vocabulary with torch.

Files: word2vec text (``.txt``/``.vec``, optionally ``.gz``/``.bz2``/``.xz``) and binary (``.bin``) as
written by word2vec.c and gensim, GloVe text (Stanford's files: no header line), and a native directory
(``vectors.npy`` + ``vocab.tsv`` + ``meta.json``) that loads fast and can ship float16;
:mod:`seqlab.embeddings.vectors_io` reads and writes them. ``to_gensim`` / ``from_gensim`` convert in memory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.device import resolve_device
from seqlab.embeddings.nearest import COSMUL_EPS, Queries, default_vectors_missing
from seqlab.embeddings.vectors_io import FORMATS as FORMATS
from seqlab.embeddings.vectors_io import MAX_VECTOR_SIZE as MAX_VECTOR_SIZE
from seqlab.embeddings.vectors_io import NATIVE_FORMAT as NATIVE_FORMAT
from seqlab.embeddings.vectors_io import NATIVE_VERSION as NATIVE_VERSION
from seqlab.embeddings.vectors_io import read_native_extras, read_vectors, write_vectors
from seqlab.errors import ConfigError, DataError
from seqlab.shipped import default_vectors_path


def cosmul_scores(cos_positive: torch.Tensor, cos_negative: torch.Tensor) -> torch.Tensor:
    """3CosMul from cosines: ``(..., P, R)`` and ``(..., N, R)`` -> ``(..., R)``.

    An empty N gives a denominator of 1 + eps, as in gensim.
    """
    numerator = ((1 + cos_positive) / 2).prod(dim=-2)
    denominator = ((1 + cos_negative) / 2).prod(dim=-2)
    return numerator / (denominator + COSMUL_EPS)


def topk_excluding(scores: torch.Tensor, exclude: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top ``k`` of ``scores`` (B, R) along the last dim, never choosing the indices in ``exclude`` (B, E).

    Excluded indices may lie outside [0, R) (then they are ignored). Returns (values, indices), each
    (B, min(k, R)), best first; positions that had to be filled with excluded entries hold -inf.
    ``scores`` is modified in place.
    """
    num_rows = scores.shape[-1]
    inside = exclude < num_rows
    # amin with +inf is a no-op, so out-of-range exclusions can point anywhere (index 0) harmlessly.
    index = torch.where(inside, exclude, torch.zeros_like(exclude))
    fill = torch.full(exclude.shape, float("inf"), dtype=scores.dtype, device=scores.device)
    fill.masked_fill_(inside, float("-inf"))
    scores.scatter_reduce_(-1, index, fill, reduce="amin")
    return torch.topk(scores, min(k, num_rows), dim=-1)


class KeyedVectors(Queries):
    """Words and their vectors: ``words[i]`` owns row i of ``vectors`` (V, D).

    ``counts`` (V,) int64 holds corpus frequencies when known (None otherwise; 0 for words added later).
    Queries use the unit-normalised matrix on ``device``, computed lazily and recomputed when ``vectors``
    changes. The queries, with gensim 4.4's arguments and results (see :class:`Queries`):
    ``most_similar``, ``most_similar_cosmul``, ``similar_by_word``, ``similar_by_vector``, ``analogy``,
    ``similarity``, ``distance``, ``distances``, ``n_similarity``, ``closer_than``, ``rank``,
    ``doesnt_match``, ``get_mean_vector``, ``wmdistance``; changes: ``add_vectors``, ``add_vector``.
    """

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray | torch.Tensor,
        counts: np.ndarray | Sequence[int] | None = None,
    ) -> None:
        matrix = torch.as_tensor(np.asarray(vectors) if not torch.is_tensor(vectors) else vectors)
        matrix = matrix.detach().to("cpu", torch.float32).contiguous()
        if matrix.ndim != 2:
            raise ValueError(f"vectors must be a (V, D) matrix, got shape {tuple(matrix.shape)}")
        self.words: list[str] = list(words)
        if len(self.words) != matrix.shape[0]:
            raise ValueError(f"{len(self.words)} words but {matrix.shape[0]} vectors")
        self.key_to_index: dict[str, int] = {}
        for i, word in enumerate(self.words):
            if not isinstance(word, str):
                raise TypeError(f"word {i} is {type(word).__name__}, expected str")
            first = self.key_to_index.setdefault(word, i)
            if first != i:
                raise DataError(f"duplicate word {word!r} at index {first} and {i}; words must be unique")
        self.counts: np.ndarray | None = None
        if counts is not None:
            self.counts = np.asarray(counts, dtype=np.int64).copy()
            if self.counts.shape != (len(self.words),):
                raise ValueError(f"counts has shape {self.counts.shape}, expected ({len(self.words)},)")
        self._vectors = matrix
        self.source: str | None = None  # the file the vectors came from, named in error messages
        self.device = torch.device("cpu")
        self._unit: torch.Tensor | None = None
        self._unit_key: tuple | None = None

    # ----------------------------------------------------------------- vocabulary and vectors
    @property
    def vectors(self) -> torch.Tensor:
        """The (V, D) float32 CPU matrix, row i for ``words[i]``."""
        return self._vectors

    @vectors.setter
    def vectors(self, value: torch.Tensor | np.ndarray) -> None:
        value = torch.as_tensor(value).detach().to("cpu", torch.float32).contiguous()
        if value.shape[0] != len(self.words) or value.ndim != 2:
            raise ValueError(f"vectors must have shape ({len(self.words)}, D), got {tuple(value.shape)}")
        self._vectors = value
        self._unit = None

    @property
    def vector_size(self) -> int:
        """D, the number of dimensions."""
        return self._vectors.shape[1]

    @property
    def index_to_key(self) -> list[str]:
        """gensim's name for ``words``."""
        return self.words

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words x {self.vector_size} dims, device={self.device})"

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """A copy of the (D,) vector of ``word``, unit-normalised when ``norm``."""
        row = self.unit_vectors()[self.index(word)] if norm else self._vectors[self.index(word)]
        return row.cpu().numpy().copy()

    def __getitem__(self, word: str) -> np.ndarray:
        return self.get_vector(word)

    def to(self, device: str | torch.device) -> KeyedVectors:
        """Run queries on ``device`` (``auto``, ``cpu``, ``cuda``...); returns self, like nn.Module.to."""
        self.device = resolve_device(device)
        return self

    def unit_vectors(self) -> torch.Tensor:
        """The (V, D) unit-normalised rows on ``self.device`` (cached; rebuilt after any change)."""
        key = (id(self._vectors), self._vectors._version, self.device)
        if self._unit is None or self._unit_key != key:
            matrix = self._vectors.to(self.device)
            norms = torch.linalg.vector_norm(matrix, dim=1, keepdim=True)
            # A zero row stays zero (gensim would give NaN), so it is never anyone's neighbour by accident.
            self._unit = matrix / norms.clamp_min(torch.finfo(matrix.dtype).tiny)
            self._unit_key = key
        return self._unit

    # ------------------------------------------------- rows and scores for the queries of Queries
    def _rows(self, index: list[int], unit: bool) -> np.ndarray:
        if unit:
            rows = torch.tensor(index, dtype=torch.long, device=self.device)
            return self.unit_vectors()[rows].cpu().numpy()
        return self._vectors[index].numpy()  # a copy: advanced indexing

    def _cosines(self, direction: np.ndarray, restrict_vocab: int | None) -> torch.Tensor:
        return self.unit_vectors()[:restrict_vocab] @ torch.as_tensor(direction, device=self.device)

    def _cosmul(self, index: list[int], n_positive: int, restrict_vocab: int | None) -> torch.Tensor:
        rows = torch.tensor(index, dtype=torch.long, device=self.device)
        unit = self.unit_vectors()
        cosines = unit[rows] @ unit[:restrict_vocab].T  # (P + N, R)
        return cosmul_scores(cosines[:n_positive], cosines[n_positive:])

    def _ranked(self, scores: torch.Tensor, exclude: list[int], topn: int) -> list[tuple[str, float]]:
        rows = torch.tensor(exclude, dtype=torch.long, device=self.device)
        values, indices = topk_excluding(scores[None], rows[None], topn)
        return [
            (self.words[i], v)
            for v, i in zip(values[0].tolist(), indices[0].tolist(), strict=True)
            if v != float("-inf")
        ]

    def _numpy(self, scores: torch.Tensor) -> np.ndarray:
        return scores.cpu().numpy()

    def _append_rows(self, vectors: np.ndarray) -> None:
        self._vectors = torch.cat([self._vectors, torch.from_numpy(vectors)])
        if self.counts is not None:
            self.counts = np.concatenate([self.counts, np.zeros(len(vectors), dtype=np.int64)])
        self._unit = None  # not left to the cache key: a new tensor may reuse a freed one's id

    def _replace_rows(self, index: list[int], vectors: np.ndarray) -> None:
        self._vectors[index] = torch.from_numpy(vectors)
        self._unit = None

    # ------------------------------------------------------------------------------- files
    def save(self, path: str | os.PathLike, fmt: str | None = None, dtype: str = "float32") -> Path:
        """Write to ``path`` atomically; the format comes from ``fmt`` (``text``, ``bin``, ``native`` or
        ``glove``) or the extension (.txt/.vec word2vec text, .bin binary, .glove GloVe text, each maybe
        .gz/.bz2/.xz; anything else a native directory). ``fmt="glove"`` writes Stanford GloVe's text, the
        rows without a header line, whatever the name (``glove.6B.50d.txt``).

        ``dtype="float16"`` halves a native directory; word2vec and GloVe files are always float32.
        Only the native format keeps ``counts``.
        """
        return write_vectors(path, self.words, self.vectors.numpy(), self.counts, fmt, dtype)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        fmt: str | None = None,
        limit: int | None = None,
        device: str | torch.device = "cpu",
    ) -> KeyedVectors:
        """Read vectors saved by :meth:`save`, word2vec.c, gensim or GloVe; keep the first ``limit`` words.

        The format is ``fmt``'s or the name's (see :meth:`save`); a text file is word2vec or GloVe by its
        first line, and so is a file whose name says no format. A one-dimensional GloVe file needs
        ``fmt="glove"``: its first row looks like a header. A glove.c ``-model 0`` file (``seqlab glove
        train --model 0``: ``w b w~ b~`` per word) loads as vectors of 2 (D + 1) numbers, those four side by
        side; ``v[:, :D] + v[:, D + 1:-1]`` are the usual w + w~. A directory of fastText vectors loads as
        :class:`~seqlab.embeddings.fasttext_vectors.FastTextVectors` (words outside the vocabulary too).
        """
        path = Path(path)
        if cls is KeyedVectors and path.is_dir() and fmt in (None, "native") \
                and "fasttext" in read_native_extras(path, [])[0]:
            from seqlab.embeddings.fasttext_vectors import FastTextVectors  # it imports this module

            return FastTextVectors.load(path, limit=limit, device=device)
        kv = cls(*read_vectors(path, fmt, limit))
        kv.source = str(path)
        return kv.to(device)

    # ------------------------------------------------------------------------------- gensim
    def to_gensim(self) -> Any:
        """A ``gensim.models.KeyedVectors`` holding a copy of these: the same words in the same order
        (``index_to_key``), float32 vectors and, when ``counts`` are known, each word's ``"count"``
        (``get_vecattr(word, "count")``). Needs gensim (imported here, not before)."""
        gensim_keyed_vectors = _gensim_class("KeyedVectors.to_gensim")
        kv = gensim_keyed_vectors(self.vector_size, count=0, dtype=np.float32)
        kv.add_vectors(list(self.words), self.vectors.numpy())
        if self.counts is not None:
            # what set_vecattr(word, "count", c) does for every word, at once: gensim's int64 array, filled
            kv.allocate_vecattrs(["count"], [np.int64])
            kv.expandos["count"][:] = self.counts
        return kv

    @classmethod
    def from_gensim(cls, vectors: Any) -> KeyedVectors:
        """Ours from a ``gensim.models.KeyedVectors`` (or a gensim model holding one as ``.wv``, such as
        ``Word2Vec``): its words (``index_to_key``, in order), a float32 copy of its vectors and, when it
        has them, its counts (``get_vecattr(word, "count")``; gensim makes up decreasing ones for a
        word2vec file read without its vocabulary file). Words must be strings."""
        wv = getattr(vectors, "wv", vectors)
        if not (hasattr(wv, "index_to_key") and hasattr(wv, "vectors")):
            raise TypeError(f"from_gensim expects a gensim KeyedVectors (or a model with .wv), got "
                            f"{type(vectors).__name__}")
        words = list(wv.index_to_key)
        expandos = getattr(wv, "expandos", {})
        counts = expandos["count"][: len(words)] if "count" in expandos else getattr(wv, "counts", None)  # or ours
        matrix = wv.vectors[: len(words)]  # a copy below, not a view
        return cls(words, matrix.clone() if torch.is_tensor(matrix) else np.array(matrix, dtype=np.float32), counts)


def _gensim_class(caller: str) -> type:
    """gensim's KeyedVectors class, imported on first use (the CLI's help and queries never import gensim)."""
    try:
        from gensim.models import KeyedVectors as GensimKeyedVectors
    except ImportError as exc:
        raise ConfigError(f"{caller} needs gensim ({exc}): pip install gensim") from None
    return GensimKeyedVectors


# -------------------------------------------------------------------------- shipped vectors
def load_default_vectors(device: str | torch.device = "cpu") -> KeyedVectors:
    """Load the shipped default vectors, or raise DataError saying how to make some."""
    path = default_vectors_path()
    if not path.exists():
        raise default_vectors_missing(path)
    return KeyedVectors.load(path, device=device)
