"""Nearest-word queries on the CPU with numpy alone: what ``seqlab analogy`` and ``seqlab similar`` run.

:class:`VectorIndex` answers the queries of :class:`~seqlab.embeddings.keyed_vectors.KeyedVectors`
(3CosAdd, 3CosMul, nearest neighbours) with the same rules and results, but without torch, whose
import alone costs more than a whole query on the shipped 40,000 x 100 vectors. KeyedVectors is the
library's class (training, evaluation, debiasing, any device); this one is a read-only index for the
command line and for programs that only look words up.

Both classes share :class:`Queries` (``analogy``, ``similar_by_word``) and the argument rules below,
so the two answer the same calls in the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqlab.embeddings.vectors_io import read_vectors
from seqlab.errors import DataError, UnknownWordError
from seqlab.shipped import default_vectors_path

COSMUL_EPS = 1e-6  # gensim's constant in most_similar_cosmul

# (word, weight) or a bare word, as in gensim's most_similar
WordOrWeighted = str | tuple[str, float]


def listed(value: WordOrWeighted | Sequence[WordOrWeighted] | None) -> list:
    """gensim's convenience: a single word, or one (word, weight) pair, stands for a one-item list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int | float):
        return [value]
    return list(value)


def weighted(
    items: WordOrWeighted | Sequence[WordOrWeighted] | None, default: float
) -> list[tuple[str, float]]:
    """(word, weight) pairs; bare words get ``default`` (+1 for positive, -1 for negative)."""
    return [
        (item, default) if isinstance(item, str) else (item[0], float(item[1])) for item in listed(items)
    ]


def default_vectors_missing(path: Path) -> DataError:
    """The error for shipped vectors that are not there (a source checkout without data/)."""
    return DataError(
        f"default vectors not found at {path}; train some with `seqlab embed train` and pass --vectors"
    )


class Queries:
    """The vocabulary lookups and the queries built from ``most_similar`` and ``most_similar_cosmul``,
    shared by both classes: a subclass has ``words``, ``key_to_index`` (word -> row) and ``source`` (the
    file the vectors came from, named in errors, or None)."""

    words: list[str]
    key_to_index: dict[str, int]
    source: str | None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def index(self, word: str) -> int:
        """Row of ``word``; UnknownWordError when it is not in the vocabulary."""
        try:
            return self.key_to_index[word]
        except KeyError:
            where = f"the vocabulary of {self.source}" if self.source else "the vocabulary"
            raise UnknownWordError(word, where) from None

    def most_similar(
        self,
        positive: WordOrWeighted | Sequence[WordOrWeighted] = (),
        negative: WordOrWeighted | Sequence[WordOrWeighted] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """3CosAdd: the ``topn`` words nearest (cosine) to the mean of +positive and -negative unit vectors.

        Items may be ``(word, weight)`` pairs; only the first ``restrict_vocab`` rows are searched.
        Query words are never returned. Result: [(word, cosine)], best first.
        """
        if topn < 1:
            return []
        terms = weighted(positive, 1.0) + weighted(negative, -1.0)
        if not terms:
            raise ValueError("most_similar needs at least one positive or negative word")
        return self._cosadd([self.index(word) for word, _ in terms], [w for _, w in terms], topn, restrict_vocab)

    def most_similar_cosmul(
        self,
        positive: str | Sequence[str] = (),
        negative: str | Sequence[str] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """3CosMul (Levy & Goldberg 2014): [(word, score)], best first, query words excluded.

        Unlike gensim 4.4 (which ignores it here), ``restrict_vocab`` limits the search to the first rows.
        """
        if topn < 1:
            return []
        positive, negative = listed(positive), listed(negative)
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word")
        return self._cosmul([self.index(word) for word in [*positive, *negative]], len(positive), topn,
                            restrict_vocab)

    def _cosadd(self, index: list[int], weights: list[float], topn: int,
                restrict_vocab: int | None) -> list[tuple[str, float]]:
        """Scores of the weighted mean of the unit rows ``index``, ranked (query rows excluded)."""
        raise NotImplementedError

    def _cosmul(self, index: list[int], n_positive: int, topn: int,
                restrict_vocab: int | None) -> list[tuple[str, float]]:
        """3CosMul scores of the rows ``index`` (the first ``n_positive`` positive), ranked."""
        raise NotImplementedError

    def analogy(self, a: str, b: str, c: str, topn: int = 10, method: str = "add") -> list[tuple[str, float]]:
        """Words nearest to a - b + c, by 3CosAdd or 3CosMul: ``analogy("king", "man", "woman")`` -> queen."""
        if method == "add":
            return self.most_similar(positive=[a, c], negative=[b], topn=topn)
        if method == "mul":
            return self.most_similar_cosmul(positive=[a, c], negative=[b], topn=topn)
        raise ValueError(f"method must be 'add' or 'mul', got {method!r}")

    def similar_by_word(
        self, word: str, topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """The ``topn`` nearest neighbours of ``word`` by cosine, itself excluded."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)


class VectorIndex(Queries):
    """Unit-normalised word vectors in a float32 numpy matrix, for lookups on the CPU."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray, source: str | None = None) -> None:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words need a ({len(words)}, D) matrix, got shape {matrix.shape}")
        self.words = list(words)
        self.key_to_index = {word: i for i, word in enumerate(self.words)}
        if len(self.key_to_index) != len(self.words):
            raise DataError("duplicate words; words must be unique")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        # a zero row stays zero, as in KeyedVectors, so it is never anyone's neighbour by accident
        self.unit = matrix / np.maximum(norms, np.finfo(np.float32).tiny)
        self.source = source

    @classmethod
    def load(cls, path: str | os.PathLike, limit: int | None = None) -> VectorIndex:
        """Vectors from any file KeyedVectors reads (native directory, word2vec text or binary, GloVe)."""
        words, vectors, _ = read_vectors(Path(path), None, limit)
        return cls(words, vectors, str(path))

    @classmethod
    def load_default(cls) -> VectorIndex:
        """The shipped default vectors."""
        path = default_vectors_path()
        if not path.exists():
            raise default_vectors_missing(path)
        return cls.load(path)

    def _ranked(self, scores: np.ndarray, exclude: list[int], topn: int) -> list[tuple[str, float]]:
        scores = scores.copy()
        scores[[i for i in exclude if i < len(scores)]] = -np.inf
        best = np.argsort(-scores, kind="stable")[:topn]  # ties: the earlier (more frequent) word first
        return [(self.words[i], float(scores[i])) for i in best if scores[i] != -np.inf]

    def _cosadd(self, index: list[int], weights: list[float], topn: int,
                restrict_vocab: int | None) -> list[tuple[str, float]]:
        mean = np.asarray(weights, dtype=np.float32) @ self.unit[index]
        mean /= max(float(np.linalg.norm(mean)), float(np.finfo(np.float32).tiny))
        return self._ranked(self.unit[:restrict_vocab] @ mean, index, topn)

    def _cosmul(self, index: list[int], n_positive: int, topn: int,
                restrict_vocab: int | None) -> list[tuple[str, float]]:
        cosines = self.unit[index] @ self.unit[:restrict_vocab].T  # (P + N, R)
        numerator = ((1 + cosines[:n_positive]) / 2).prod(axis=0)
        denominator = ((1 + cosines[n_positive:]) / 2).prod(axis=0)
        return self._ranked(numerator / (denominator + COSMUL_EPS), index, topn)
