"""fastText word vectors: the vocabulary's vectors plus the n-gram rows that make a vector for any word.

Bojanowski, Grave, Joulin & Mikolov 2017 ("Enriching Word Vectors with Subword Information", section 3.2):
a word w is represented by its own row z_w and the rows z_g of its character n-grams g in G(w) (hashed into
``bucket`` rows; :mod:`seqlab.embeddings.subwords`). As in fastText's ``getWordVector`` and gensim:

    in the vocabulary:      v_w = (z_w + sum_{g in G(w)} z_g) / (|G(w)| + 1)
    out of the vocabulary:  v_w = sum_{g in G(w)} z_g / |G(w)|

``vectors`` (V, D) holds v_w of the vocabulary (so every query of KeyedVectors works on them unchanged) and
``ngrams`` (bucket, D) the rows z_g. ``get_vector``, ``[]``, ``in``, ``most_similar``, ``similar_by_word`` and
``similarity`` also take words out of the vocabulary (:class:`~seqlab.embeddings.nearest.SubwordQueries`,
shared with the numpy ``FastTextIndex`` of ``seqlab similar``). A word with no n-gram at all (shorter than
min_n - 2 characters) has no vector here: UnknownWordError, where gensim returns the zero vector with a warning.

On disk: the native directory (:mod:`seqlab.embeddings.vectors_io`) with ``ngrams.npy`` beside
``vectors.npy`` and ``"fasttext": {"min_n", "max_n", "bucket"}`` in meta.json. A word2vec ``.txt``/``.bin``
file holds the vocabulary's vectors only (no n-grams: words outside it cannot be looked up).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.nearest import SubwordQueries
from seqlab.embeddings.subwords import ngram_settings
from seqlab.embeddings.vectors_io import format_of, read_native_extras, read_vectors, write_vectors
from seqlab.errors import ConfigError, DataError


class FastTextVectors(SubwordQueries, KeyedVectors):
    """KeyedVectors with fastText's n-gram rows ``ngrams`` (bucket, D) and its ``min_n``, ``max_n``, ``bucket``."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray | torch.Tensor, counts: Any,
                 ngrams: np.ndarray | torch.Tensor, min_n: int, max_n: int, bucket: int) -> None:
        super().__init__(words, vectors, counts)
        self.ngrams = torch.as_tensor(np.asarray(ngrams) if not torch.is_tensor(ngrams) else ngrams)
        self.ngrams = self.ngrams.detach().to("cpu", torch.float32).contiguous()
        if self.ngrams.shape != (bucket, self.vector_size):
            raise ValueError(f"ngrams must have shape ({bucket}, {self.vector_size}), got {tuple(self.ngrams.shape)}")
        self.min_n, self.max_n, self.bucket = int(min_n), int(max_n), int(bucket)

    def __repr__(self) -> str:
        return (f"FastTextVectors({len(self)} words x {self.vector_size} dims, n-grams {self.min_n}-{self.max_n} in "
                f"{self.bucket:,} buckets, device={self.device})")

    # ------------------------------------------------------------------------- any word's vector
    def _ngram_rows(self, hashes: list[int]) -> np.ndarray:
        return self.ngrams[torch.as_tensor(hashes, dtype=torch.long)].numpy()

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """A copy of the (D,) vector of ``word``, in the vocabulary or not (the mean of its n-gram rows);
        unit-normalised when ``norm``. UnknownWordError for a word outside the vocabulary with no n-gram."""
        if word in self.key_to_index:
            return super().get_vector(word, norm)
        return self.ngram_vector(word, norm)

    # ------------------------------------------------------------------------------- files
    def save(self, path: str | os.PathLike, fmt: str | None = None, dtype: str = "float32") -> Path:
        """A native directory (the default for a name without a word2vec extension) keeps the n-grams and
        settings; a word2vec or GloVe file gets the vocabulary's vectors only (see :meth:`KeyedVectors.save`)."""
        if format_of(path, fmt) != "native":
            return super().save(path, fmt, dtype)
        settings = {"min_n": self.min_n, "max_n": self.max_n, "bucket": self.bucket}
        return write_vectors(path, self.words, self.vectors.numpy(), self.counts, "native", dtype,
                             arrays={"ngrams": self.ngrams.numpy()}, meta={"fasttext": settings})

    @classmethod
    def load(cls, path: str | os.PathLike, fmt: str | None = None, limit: int | None = None,
             device: str | torch.device = "cpu") -> FastTextVectors:
        """fastText vectors saved by :meth:`save` as a native directory (``limit``: keep the first words)."""
        path = Path(path)
        if format_of(path, fmt) != "native":
            raise DataError(f"{path}: fastText vectors need the native directory (the n-grams); a word2vec file "
                            f"loads with KeyedVectors.load")
        words, matrix, counts = read_vectors(path, "native", limit)
        meta, _ = read_native_extras(path, [])
        settings = ngram_settings(meta, path)  # before reading a matrix that is not there
        _, arrays = read_native_extras(path, ["ngrams"])
        kv = cls(words, matrix, counts, arrays["ngrams"], *settings)
        kv.source = str(path)
        return kv.to(device)

    # ------------------------------------------------------------------------------- gensim
    def to_gensim(self) -> Any:
        """A gensim ``FastTextKeyedVectors`` with these words, vectors, n-gram rows and settings: the same
        vector for every word, in the vocabulary or not. Its ``vectors_vocab`` (the words' own rows) are
        recovered as (|G(w)| + 1) v_w - sum_g z_g."""
        try:
            from gensim.models.fasttext import FastTextKeyedVectors
        except ImportError as exc:
            raise ConfigError(f"FastTextVectors.to_gensim needs gensim ({exc}): pip install gensim") from None

        kv = FastTextKeyedVectors(self.vector_size, self.min_n, self.max_n, self.bucket)
        kv.add_vectors(list(self.words), self.vectors.numpy())
        if self.counts is not None:
            kv.allocate_vecattrs(["count"], [np.int64])
            kv.expandos["count"][:] = self.counts
        kv.vectors_ngrams = self.ngrams.numpy().copy()
        kv.recalc_char_ngram_buckets()
        ngrams = self.ngrams.double()
        own = self.vectors.double().clone()
        for i, hashes in enumerate(kv.buckets_word):
            if len(hashes):
                own[i] = own[i] * (len(hashes) + 1) - ngrams[torch.as_tensor(hashes.astype(np.int64))].sum(0)
        kv.vectors_vocab = own.float().numpy()
        return kv

