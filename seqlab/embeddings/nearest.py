"""Nearest-word queries on the CPU with numpy alone: what ``seqlab analogy`` and ``seqlab similar`` run.

:class:`VectorIndex` answers the queries of :class:`~seqlab.embeddings.keyed_vectors.KeyedVectors`
(3CosAdd, 3CosMul, nearest neighbours, distances, Word Mover's Distance) with the same rules and results,
but without torch, whose import alone costs more than a whole query on the shipped 40,000 x 100 vectors.
KeyedVectors is the library's class (training, evaluation, debiasing, any device); this one is an index
for the command line and for programs that only look words up.

Both classes share :class:`Queries`: the argument rules of gensim 4.4 (a word, a vector, a (word or vector,
weight) pair, or a list of them) and the arithmetic on a query's own few rows, done here in numpy on float32
rows as gensim does it. What scales with the vocabulary (scoring every row, ranking, storing added rows)
is each class's own: ``_rows``, ``_cosines``, ``_cosmul``, ``_ranked``, ``_append_rows``, ``_replace_rows``.

Word Mover's Distance (Kusner et al., 2015, "From Word Embeddings To Document Distances", eq. 1):
WMD(d, d') = min_T sum_ij T_ij ||x_i - x'_j|| over T >= 0 with T 1 = a, T^T 1 = b, where a and b are the
documents' normalised bags of words over their distinct words and x the word vectors (unit ones by default).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqlab.embeddings.subwords import ngram_hashes, ngram_settings
from seqlab.embeddings.vectors_io import read_native_extras, read_vectors
from seqlab.errors import DataError, UnknownWordError
from seqlab.shipped import default_vectors_path

if TYPE_CHECKING:
    import torch

    Vector = np.ndarray | torch.Tensor  # a (D,) vector; a torch tensor may be on any device
    # a word, a vector, or either with a weight, as in gensim's most_similar
    Term = str | Vector | tuple[str | Vector, float]

COSMUL_EPS = 1e-6  # gensim's constant in most_similar_cosmul


def is_vector(item: object) -> bool:
    """A raw vector (numpy array, torch tensor: anything with a ``shape``) rather than a word or a pair."""
    return not isinstance(item, str | tuple) and hasattr(item, "shape")


def as_numpy(value: Any) -> np.ndarray:
    """A float32 numpy copy of an array, a list of vectors or a torch tensor on any device.

    Tensors are read through their own methods, so this module never imports torch.
    """
    if hasattr(value, "detach"):
        value = value.detach().to("cpu").float().numpy()
    elif isinstance(value, list | tuple):
        value = [as_numpy(item) for item in value]
        shapes = sorted({item.shape for item in value})
        if len(shapes) > 1:
            raise ValueError(f"vectors of different shapes: {', '.join(map(str, shapes))}")
    return np.array(value, dtype=np.float32)


def listed(value: Term | Sequence[Term] | None) -> list:
    """gensim's convenience: one word, one (D,) vector or one (word, weight) pair stands for a one-item
    list, and an (n, D) matrix for its n rows."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if is_vector(value):
        return list(value) if len(value.shape) == 2 else [value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Real):
        return [value]
    return list(value)


def weighted(items: Term | Sequence[Term] | None, default: float) -> list[tuple[str | Vector, float]]:
    """(word or vector, weight) pairs; bare words and vectors get ``default`` (+1 positive, -1 negative)."""
    pairs = []
    for item in listed(items):
        if isinstance(item, str) or is_vector(item):
            pairs.append((item, default))
        elif isinstance(item, tuple | list) and len(item) == 2:
            pairs.append((item[0], float(item[1])))
        else:
            raise TypeError(f"expected a word, a vector or a (word or vector, weight) pair, got {item!r}")
    return pairs


def keys_listed(keys: str | Vector | Sequence[str | Vector]) -> list:
    """The words or vectors of ``get_mean_vector``-like calls: one word or (D,) vector is a one-item list."""
    if isinstance(keys, str) or (is_vector(keys) and len(keys.shape) == 1):
        return [keys]
    return list(keys)


def searched(restrict_vocab: int | None) -> int | None:
    """How many leading rows a query searches: all of them for None or 0 (gensim's ``if restrict_vocab``)."""
    if restrict_vocab is not None and restrict_vocab < 0:
        raise ValueError(f"restrict_vocab must be None or >= 0, got {restrict_vocab}")
    return restrict_vocab or None


def unit_vector(vector: np.ndarray) -> np.ndarray:
    """``vector / ||vector||``; a zero vector stays zero (gensim's ``matutils.unitvec``)."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def bag_of_words(document: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct words of ``document`` and their frequencies divided by its length (float64, sum 1)."""
    counts = Counter(document)
    return list(counts), np.array(list(counts.values()), dtype=np.float64) / len(document)


def transport_cost(source: np.ndarray, target: np.ndarray, cost: np.ndarray) -> float:
    """Earth mover's distance: min <T, cost> over T >= 0 with T 1 = ``source`` and T^T 1 = ``target``.

    ``source`` (n1,) and ``target`` (n2,) each sum to 1; ``cost`` is (n1, n2). POT's ``ot.emd2`` (the network
    simplex gensim calls) solves it when POT is installed; otherwise scipy's ``linprog`` with HiGHS solves the
    same linear program, exactly too, so the two agree to rounding.
    """
    try:
        from ot import emd2
    except ImportError:
        emd2 = None
    if emd2 is not None:
        return float(emd2(source, target, cost))
    from scipy import sparse
    from scipy.optimize import linprog

    n1, n2 = cost.shape
    # T flattened row-major: row i of T sums to source[i], column j to target[j]. The last column's
    # constraint follows from the others (both sides sum to 1), and HiGHS is happier without it.
    rows = sparse.kron(sparse.eye(n1), np.ones((1, n2)))
    columns = sparse.kron(np.ones((1, n1)), sparse.eye(n2))
    constraints = sparse.vstack([rows, columns]).tocsr()[:-1]
    bounds = np.concatenate([source, target])[:-1]
    result = linprog(cost.ravel(), A_eq=constraints, b_eq=bounds, bounds=(0, None), method="highs")
    if result.status != 0:
        raise ArithmeticError(f"Word Mover's Distance: linprog failed: {result.message}")
    return float(result.fun)


def default_vectors_missing(path: Path) -> DataError:
    """The error for shipped vectors that are not there (a source checkout without data/)."""
    return DataError(
        f"default vectors not found at {path}; train some with `seqlab embed train` and pass --vectors"
    )


class Queries:
    """gensim 4.4's KeyedVectors queries, with its argument rules and results, shared by both classes.

    Neighbours: ``most_similar`` (3CosAdd), ``most_similar_cosmul`` (3CosMul), ``similar_by_word``,
    ``similar_by_vector``, ``analogy``. Pairs and sets: ``similarity``, ``distance``, ``distances``,
    ``n_similarity``, ``closer_than``, ``rank``, ``doesnt_match``, ``get_mean_vector``, ``wmdistance``.
    Changes: ``add_vectors``, ``add_vector``. Vocabulary: ``len``, ``in``, ``index``.

    An unknown word is an UnknownWordError (a KeyError) naming it, except where gensim leaves unknown
    words out by design (``get_mean_vector`` with ``ignore_missing``, ``wmdistance``). Where gensim takes a
    vector, a numpy array or a torch tensor of ``vector_size`` finite values is used as given; anything
    else is a ValueError. A subclass has ``words``, ``key_to_index`` (word -> row), ``source``
    (the file the vectors came from, named in errors, or None), ``vector_size`` and the row methods below.
    """

    words: list[str]
    key_to_index: dict[str, int]
    source: str | None
    vector_size: int

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

    # --------------------------------------------------------------- rows: each backend's own
    def _rows(self, index: list[int], unit: bool) -> np.ndarray:
        """The rows ``index`` as a float32 (n, D) numpy array: unit-normalised or as stored."""
        raise NotImplementedError

    def _cosines(self, direction: np.ndarray, restrict_vocab: int | None) -> Any:
        """Dot products of the first ``restrict_vocab`` unit rows with the unit (D,) ``direction``: (R,)."""
        raise NotImplementedError

    def _cosmul(self, index: list[int], n_positive: int, restrict_vocab: int | None) -> Any:
        """3CosMul scores (R,) of the rows ``index``, the first ``n_positive`` of them positive."""
        raise NotImplementedError

    def _ranked(self, scores: Any, exclude: list[int], topn: int) -> list[tuple[str, float]]:
        """The ``topn`` best (word, score) of ``scores`` (R,), best first, never a row in ``exclude``."""
        raise NotImplementedError

    def _numpy(self, scores: Any) -> np.ndarray:
        """``scores`` as a float32 numpy array on the CPU."""
        raise NotImplementedError

    def _append_rows(self, vectors: np.ndarray) -> None:
        """Store (n, D) float32 ``vectors`` as new rows after the last one."""
        raise NotImplementedError

    def _replace_rows(self, index: list[int], vectors: np.ndarray) -> None:
        """Overwrite the rows ``index`` with (n, D) float32 ``vectors``."""
        raise NotImplementedError

    # ----------------------------------------------------------------------- argument rules
    def _vector(self, value: Vector) -> np.ndarray:
        """A query vector as a (D,) float32 numpy array; ValueError unless it is D finite values."""
        vector = as_numpy(value)
        if vector.shape != (self.vector_size,):
            raise ValueError(f"a vector here must have shape ({self.vector_size},), got {vector.shape}")
        if not np.isfinite(vector).all():
            raise ValueError("a vector here must be finite; this one holds NaN or infinity")
        return vector

    def _mean(
        self, pairs: list[tuple[str | Vector, float]], pre_normalize: bool, ignore_missing: bool
    ) -> tuple[np.ndarray, list[int]]:
        """gensim's weighted mean sum_i w_i x_i / sum_i |w_i| (D,) float32, and the rows of the words in it.

        x_i is a word's vector (unit when ``pre_normalize``) or a given vector as it is. An unknown word
        raises UnknownWordError, or with ``ignore_missing`` is left out, weight and all.
        """
        rows, row_weights, vectors, vector_weights = [], [], [], []
        for item, weight in pairs:
            if is_vector(item):
                vectors.append(self._vector(item))
                vector_weights.append(weight)
            elif not (ignore_missing and item not in self):
                rows.append(self.index(item))
                row_weights.append(weight)
        given = np.array(vectors, dtype=np.float32).reshape(-1, self.vector_size)
        terms = np.concatenate([self._rows(rows, unit=pre_normalize), given])
        weights = np.array(row_weights + vector_weights, dtype=np.float64)
        mean = weights @ terms.astype(np.float64)
        total = float(np.abs(weights).sum())
        return (mean / total if total > 0 else mean).astype(np.float32), rows

    # ---------------------------------------------------------------------------- neighbours
    def most_similar(
        self,
        positive: Term | Sequence[Term] = (),
        negative: Term | Sequence[Term] = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """3CosAdd: the ``topn`` words nearest (cosine) to the weighted mean of +positive and -negative terms.

        A term is a word (its unit vector), a vector (used as given: its length weighs it against the unit
        word vectors, as in gensim) or a (word or vector, weight) pair. Only the first ``restrict_vocab``
        rows are searched; query words are never returned, given vectors exclude nothing.
        Result: [(word, cosine)], best first; with ``topn=None`` the (R,) float32 array of every cosine.
        """
        if topn is not None and topn < 1:
            return []
        pairs = weighted(positive, 1.0) + weighted(negative, -1.0)
        if not pairs:
            raise ValueError("most_similar needs at least one positive or negative word or vector")
        mean, rows = self._mean(pairs, pre_normalize=True, ignore_missing=False)
        scores = self._cosines(unit_vector(mean), searched(restrict_vocab))
        return self._numpy(scores) if topn is None else self._ranked(scores, rows, topn)

    def most_similar_cosmul(
        self,
        positive: str | Sequence[str] = (),
        negative: str | Sequence[str] = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """3CosMul (Levy & Goldberg 2014): [(word, score)], best first, query words excluded.

        Words only (vectors are a TypeError). Unlike gensim 4.4 (which ignores it here),
        ``restrict_vocab`` limits the search to the first rows. ``topn=None``: the (R,) array of scores.
        """
        if topn is not None and topn < 1:
            return []
        positive, negative = listed(positive), listed(negative)
        if any(is_vector(item) for item in [*positive, *negative]):
            raise TypeError("most_similar_cosmul takes words; for vectors use most_similar")
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word")
        rows = [self.index(word) for word in [*positive, *negative]]
        scores = self._cosmul(rows, len(positive), searched(restrict_vocab))
        return self._numpy(scores) if topn is None else self._ranked(scores, rows, topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 10, method: str = "add") -> list[tuple[str, float]]:
        """Words nearest to a - b + c, by 3CosAdd or 3CosMul: ``analogy("king", "man", "woman")`` -> queen."""
        if method == "add":
            return self.most_similar(positive=[a, c], negative=[b], topn=topn)
        if method == "mul":
            return self.most_similar_cosmul(positive=[a, c], negative=[b], topn=topn)
        raise ValueError(f"method must be 'add' or 'mul', got {method!r}")

    def similar_by_word(
        self, word: str, topn: int | None = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]] | np.ndarray:
        """The ``topn`` nearest neighbours of ``word`` by cosine, itself excluded."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_vector(
        self, vector: Vector, topn: int | None = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]] | np.ndarray:
        """The ``topn`` words nearest to a (D,) ``vector`` by cosine; no word is excluded."""
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    # ------------------------------------------------------------------------ pairs and sets
    def similarity(self, word1: str, word2: str) -> float:
        """Cosine similarity of two words."""
        first, second = self._rows([self.index(word1), self.index(word2)], unit=True)
        return float(first @ second)

    def distance(self, word1: str, word2: str) -> float:
        """Cosine distance of two words: 1 - similarity."""
        return 1 - self.similarity(word1, word2)

    def distances(self, word_or_vector: str | Vector, other_words: str | Sequence[str] = ()) -> np.ndarray:
        """Cosine distances (n,) float32 from a word or a (D,) vector to ``other_words``, or to every word
        (itself included) when ``other_words`` is empty."""
        if isinstance(word_or_vector, str):
            direction = self._rows([self.index(word_or_vector)], unit=True)[0]
        else:
            direction = unit_vector(self._vector(word_or_vector))
        others = [other_words] if isinstance(other_words, str) else list(other_words)
        if not others:
            return 1 - self._numpy(self._cosines(direction, None))
        return 1 - self._rows([self.index(word) for word in others], unit=True) @ direction

    def closer_than(self, word1: str, word2: str) -> list[str]:
        """Every word nearer (cosine distance) to ``word1`` than ``word2`` is, in vocabulary order."""
        first, second = self.index(word1), self.index(word2)
        distances = self.distances(word1)
        return [self.words[i] for i in np.flatnonzero(distances < distances[second]) if i != first]

    def rank(self, word1: str, word2: str) -> int:
        """Where ``word2`` stands among the neighbours of ``word1``: 1 + how many words are nearer."""
        return len(self.closer_than(word1, word2)) + 1

    def n_similarity(self, words1: Sequence[str | Vector], words2: Sequence[str | Vector]) -> float:
        """Cosine similarity of the means of two sets of words (their vectors as stored, not unit ones).

        Unlike gensim 4.4, which leaves unknown words out silently, an unknown word is an UnknownWordError.
        An empty set is a ZeroDivisionError, as in gensim.
        """
        words1, words2 = keys_listed(words1), keys_listed(words2)
        if not (words1 and words2):
            raise ZeroDivisionError("n_similarity needs at least one word in each set")
        mean1, _ = self._mean([(word, 1.0) for word in words1], pre_normalize=False, ignore_missing=False)
        mean2, _ = self._mean([(word, 1.0) for word in words2], pre_normalize=False, ignore_missing=False)
        return float(unit_vector(mean1) @ unit_vector(mean2))

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word farthest (cosine) from the normalised mean of the words' unit vectors (gensim's rule)."""
        words = list(words)
        if not words:
            raise ValueError("doesnt_match needs at least one word")
        rows = self._rows([self.index(word) for word in words], unit=True)  # (n, D)
        similarities = (rows @ unit_vector(rows.mean(axis=0))).tolist()
        # gensim sorts (similarity, word) pairs and takes the last: the minimum, ties to the smaller word
        return min(zip(similarities, words, strict=True))[1]

    def get_mean_vector(
        self,
        keys: str | Vector | Sequence[str | Vector],
        weights: Sequence[float] | np.ndarray | None = None,
        pre_normalize: bool = True,
        post_normalize: bool = False,
        ignore_missing: bool = True,
    ) -> np.ndarray:
        """gensim's sum_i w_i x_i / sum_i |w_i| over words (unit vectors when ``pre_normalize``) and
        vectors (as given): (D,) float32, unit when ``post_normalize``.

        ``weights`` default to 1. Unknown words are left out, weight and all, unless ``ignore_missing`` is
        False (then UnknownWordError); with no known key the mean is the zero vector, as in gensim.
        """
        keys = keys_listed(keys)
        if not keys:
            raise ValueError("get_mean_vector needs at least one word or vector")
        weights = np.ones(len(keys)) if weights is None else as_numpy(weights).astype(np.float64)
        if weights.shape != (len(keys),):
            raise ValueError(f"{len(keys)} keys need {len(keys)} weights, got shape {weights.shape}")
        mean, _ = self._mean(list(zip(keys, weights.tolist(), strict=True)), pre_normalize, ignore_missing)
        return unit_vector(mean) if post_normalize else mean

    def wmdistance(self, document1: Sequence[str], document2: Sequence[str], norm: bool = True) -> float:
        """Word Mover's Distance (module docstring) between two lists of words, as gensim 4.4 computes it.

        Unknown words are left out, as in gensim; a document with no known word is at distance inf. Vectors
        are unit-normalised when ``norm``. The transport problem goes to POT's ``ot.emd2`` when installed
        (gensim's solver), else to ``scipy.optimize.linprog`` (HiGHS); see :func:`transport_cost`.
        Unlike gensim, documents whose words all share one vector are at distance 0, not inf.
        """
        known1 = [word for word in document1 if word in self]
        known2 = [word for word in document2 if word in self]
        if not (known1 and known2):
            return float("inf")
        words1, weights1 = bag_of_words(known1)
        words2, weights2 = bag_of_words(known2)
        vectors1 = self._rows([self.index(word) for word in words1], unit=norm).astype(np.float64)
        vectors2 = self._rows([self.index(word) for word in words2], unit=norm).astype(np.float64)
        cost = np.linalg.norm(vectors1[:, None, :] - vectors2[None, :, :], axis=-1)  # (n1, n2)
        if not cost.any():  # nothing has to move (gensim returns inf here, as its solver can stall)
            return 0.0
        return transport_cost(weights1, weights2, cost)

    # --------------------------------------------------------------------------------- changes
    def add_vectors(
        self, keys: str | Sequence[str], weights: np.ndarray | Sequence[Vector], replace: bool = False
    ) -> None:
        """Add words and their vectors, as gensim's ``add_vectors``: n words and (n, D) vectors (one word
        may come with one (D,) vector). New words get the next rows; a word already there keeps its vector
        unless ``replace``. Lookups and unit vectors follow at once.

        Vectors of the wrong size or not finite are a ValueError, a word given twice a DataError; either
        way nothing changes.
        """
        keys = [keys] if isinstance(keys, str) else list(keys)
        for key in keys:
            if not isinstance(key, str):
                raise TypeError(f"words must be str, got {type(key).__name__} {key!r}")
        duplicates = sorted(word for word, count in Counter(keys).items() if count > 1)
        if duplicates:
            raise DataError(f"add_vectors got the word {duplicates[0]!r} twice; words must be unique")
        vectors = as_numpy(weights)
        if vectors.ndim == 1 and len(keys) == 1:
            vectors = vectors[None]
        if vectors.shape != (len(keys), self.vector_size):
            raise ValueError(
                f"{len(keys)} words need a ({len(keys)}, {self.vector_size}) matrix, got shape {vectors.shape}"
            )
        if not np.isfinite(vectors).all():
            raise ValueError("add_vectors: the vectors hold NaN or infinity")
        new = [i for i, key in enumerate(keys) if key not in self.key_to_index]
        old = [i for i, key in enumerate(keys) if key in self.key_to_index]
        if new:
            self._append_rows(vectors[new])
            for i in new:
                self.key_to_index[keys[i]] = len(self.words)
                self.words.append(keys[i])
        if replace and old:
            self._replace_rows([self.key_to_index[keys[i]] for i in old], vectors[old])

    def add_vector(self, key: str, vector: Vector) -> int:
        """Set the (D,) vector of ``key``, adding the word if new; returns its row.

        An existing word's vector is replaced, so that the row returned holds ``vector`` (gensim 4.4 keeps
        the old one and returns a row past the end).
        """
        self.add_vectors([key], self._vector(vector)[None], replace=True)
        return self.key_to_index[key]


class SubwordQueries(Queries):
    """The queries of :class:`Queries`, also for words outside the vocabulary (fastText, Bojanowski et al.
    2017): such a word's vector is the mean of its character n-grams' rows (``in`` says whether it has one).
    ``most_similar`` (so ``similar_by_word``) and ``similarity`` take them, as gensim's FastTextKeyedVectors
    does; the other queries need words of the vocabulary. A subclass has ``min_n``, ``max_n``, ``bucket`` and
    ``_ngram_rows``."""

    min_n: int
    max_n: int
    bucket: int

    def _ngram_rows(self, hashes: list[int]) -> np.ndarray:
        """The n-gram rows ``hashes`` as a float32 (n, D) numpy array."""
        raise NotImplementedError

    def __contains__(self, word: object) -> bool:
        """Whether ``word`` has a vector: in the vocabulary, or with at least one n-gram."""
        return word in self.key_to_index or (isinstance(word, str) and bool(self._hashes(word)))

    def _hashes(self, word: str) -> list[int]:
        return ngram_hashes(word, self.min_n, self.max_n, self.bucket)

    def ngram_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The (D,) mean of the n-gram rows of ``word`` (unit when ``norm``): the vector of a word outside the
        vocabulary. UnknownWordError when it has no n-gram (gensim returns the zero vector)."""
        hashes = self._hashes(word)
        if not hashes:
            where = f"the vocabulary of {self.source}" if self.source else "the vocabulary"
            raise UnknownWordError(word, f"{where}, and it has no character {self.min_n}- to {self.max_n}-grams")
        vector = self._ngram_rows(hashes).astype(np.float64).mean(0)
        if norm:
            vector = vector / max(float(np.linalg.norm(vector)), np.finfo(np.float64).tiny)
        return vector.astype(np.float32)

    def _unit_of(self, word: str) -> np.ndarray:
        if word in self.key_to_index:
            return self._rows([self.key_to_index[word]], unit=True)[0]
        return self.ngram_vector(word, norm=True)

    def _terms(self, terms: Term | Sequence[Term] | None, sign: float) -> list[tuple[str | Vector, float]]:
        """(word or vector, weight) pairs, weights signed, each word outside the vocabulary replaced by its
        unit vector (a word counts with its unit vector in the queries)."""
        return [(self.ngram_vector(item, norm=True) if isinstance(item, str) and item not in self.key_to_index
                 else item, weight) for item, weight in weighted(terms, sign)]

    def most_similar(self, positive: Term | Sequence[Term] = (), negative: Term | Sequence[Term] = (),
                     topn: int | None = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]] | np.ndarray:
        """:meth:`Queries.most_similar`; a word outside the vocabulary counts with its unit n-gram vector."""
        return super().most_similar(self._terms(positive, 1.0) + self._terms(negative, -1.0), (), topn,
                                    restrict_vocab)

    def similarity(self, word1: str, word2: str) -> float:
        """Cosine similarity of two words, in the vocabulary or not."""
        return float(self._unit_of(word1) @ self._unit_of(word2))


def normalised(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows (V, D) and norms (V,) of a float32 matrix; a zero row stays zero."""
    norms = np.linalg.norm(matrix, axis=1)
    # a zero row stays zero, as in KeyedVectors, so it is never anyone's neighbour by accident
    return matrix / np.maximum(norms, np.finfo(np.float32).tiny)[:, None], norms


class VectorIndex(Queries):
    """Unit-normalised word vectors in a float32 numpy matrix, for lookups on the CPU.

    ``unit`` (V, D) holds the unit rows and ``norms`` (V,) their lengths, so a stored vector is
    ``unit[i] * norms[i]`` (to float32 rounding). Answers every query of :class:`Queries`.
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray, source: str | None = None) -> None:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words need a ({len(words)}, D) matrix, got shape {matrix.shape}")
        self.words = list(words)
        self.key_to_index = {word: i for i, word in enumerate(self.words)}
        if len(self.key_to_index) != len(self.words):
            raise DataError("duplicate words; words must be unique")
        self.unit, self.norms = normalised(matrix)
        self.source = source

    @property
    def vector_size(self) -> int:
        """D, the number of dimensions."""
        return self.unit.shape[1]

    @classmethod
    def load(cls, path: str | os.PathLike, limit: int | None = None) -> VectorIndex:
        """Vectors from any file KeyedVectors reads (native directory, word2vec text or binary, GloVe); a
        directory of fastText vectors gives a :class:`FastTextIndex`."""
        path = Path(path)
        words, vectors, _ = read_vectors(path, None, limit)
        if path.is_dir():
            meta, _ = read_native_extras(path, [])
            if "fasttext" in meta:
                _, arrays = read_native_extras(path, ["ngrams"])
                return FastTextIndex(words, vectors, arrays["ngrams"], *ngram_settings(meta, path), str(path))
        return cls(words, vectors, str(path))

    @classmethod
    def load_default(cls) -> VectorIndex:
        """The shipped default vectors."""
        path = default_vectors_path()
        if not path.exists():
            raise default_vectors_missing(path)
        return cls.load(path)

    def _rows(self, index: list[int], unit: bool) -> np.ndarray:
        rows = self.unit[index]  # a copy: fancy indexing
        return rows if unit else rows * self.norms[index, None]

    def _cosines(self, direction: np.ndarray, restrict_vocab: int | None) -> np.ndarray:
        return self.unit[:restrict_vocab] @ direction.astype(np.float32)

    def _cosmul(self, index: list[int], n_positive: int, restrict_vocab: int | None) -> np.ndarray:
        cosines = self.unit[index] @ self.unit[:restrict_vocab].T  # (P + N, R)
        numerator = ((1 + cosines[:n_positive]) / 2).prod(axis=0)
        denominator = ((1 + cosines[n_positive:]) / 2).prod(axis=0)
        return numerator / (denominator + COSMUL_EPS)

    def _ranked(self, scores: np.ndarray, exclude: list[int], topn: int) -> list[tuple[str, float]]:
        scores = scores.copy()
        scores[[i for i in exclude if i < len(scores)]] = -np.inf
        best = np.argsort(-scores, kind="stable")[:topn]  # ties: the earlier (more frequent) word first
        return [(self.words[i], float(scores[i])) for i in best if scores[i] != -np.inf]

    def _numpy(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(scores, dtype=np.float32)

    def _append_rows(self, vectors: np.ndarray) -> None:
        unit, norms = normalised(vectors)
        self.unit = np.concatenate([self.unit, unit])
        self.norms = np.concatenate([self.norms, norms])

    def _replace_rows(self, index: list[int], vectors: np.ndarray) -> None:
        self.unit[index], self.norms[index] = normalised(vectors)


class FastTextIndex(SubwordQueries, VectorIndex):
    """A :class:`VectorIndex` of fastText vectors with their n-gram rows ``ngrams`` (bucket, D): it also answers
    for words outside the vocabulary (see :class:`SubwordQueries`)."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray, ngrams: np.ndarray, min_n: int, max_n: int,
                 bucket: int, source: str | None = None) -> None:
        super().__init__(words, vectors, source)
        self.ngrams = np.asarray(ngrams, dtype=np.float32)
        if self.ngrams.shape != (bucket, self.vector_size):
            raise ValueError(f"ngrams must have shape ({bucket}, {self.vector_size}), got {self.ngrams.shape}")
        self.min_n, self.max_n, self.bucket = min_n, max_n, bucket

    def _ngram_rows(self, hashes: list[int]) -> np.ndarray:
        return self.ngrams[hashes]
