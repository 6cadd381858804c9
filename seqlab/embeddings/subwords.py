"""Character n-grams of words, hashed into buckets, as fastText makes them (Bojanowski, Grave, Joulin &
Mikolov 2017, "Enriching Word Vectors with Subword Information", section 3.2).

A word w is wrapped in ``<`` and ``>``; its n-grams are the substrings of ``<w>`` of n = min_n..max_n
characters (UTF-8 characters: a continuation byte never starts or ends one), except a lone ``<`` or ``>``.
Each n-gram's UTF-8 bytes are hashed with 32-bit FNV-1a, every byte sign-extended first (fastText reads
them as ``char``), and taken modulo ``bucket``. This is fastText's ``Dictionary::computeSubwords`` and
gensim's ``compute_ngrams_bytes`` / ``ft_hash_bytes`` / ``ft_ngram_hashes``, byte for byte (the tests
compare them). Duplicate n-grams (``aaaa``) are kept, as both keep them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqlab.errors import DataError

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def hash_bytes(data: bytes) -> int:
    """fastText's 32-bit FNV-1a of ``data`` (each byte sign-extended, as a C ``char``)."""
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ ((byte - 256) & 0xFFFFFFFF if byte >= 128 else byte)) * FNV_PRIME) & 0xFFFFFFFF
    return h


def ngrams_bytes(word: str, min_n: int, max_n: int) -> list[bytes]:
    """The UTF-8 n-grams of ``<word>`` with min_n <= n <= max_n characters, in fastText's order."""
    data = f"<{word}>".encode()
    size = len(data)
    grams = []
    for i in range(size):
        if data[i] & 0xC0 == 0x80:  # a continuation byte starts no character
            continue
        j, n = i, 1
        while j < size and n <= max_n:
            j += 1
            while j < size and data[j] & 0xC0 == 0x80:
                j += 1
            if n >= min_n and not (n == 1 and (i == 0 or j == size)):
                grams.append(data[i:j])
            n += 1
    return grams


def ngram_hashes(word: str, min_n: int, max_n: int, bucket: int) -> list[int]:
    """The buckets (each in [0, bucket)) of the n-grams of ``word``: gensim's ``ft_ngram_hashes``."""
    return [hash_bytes(gram) % bucket for gram in ngrams_bytes(word, min_n, max_n)]


def subword_rows(words: Sequence[str], min_n: int, max_n: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Each word's rows of the input table (V + bucket, D), as CSR: ``offsets`` (V + 1,) int64 and
    ``rows`` (R,) int64, word i owning ``rows[offsets[i]:offsets[i + 1]]`` = [i, V + h_1, ..., V + h_n]
    (its own row, then its n-grams' buckets after the V word rows; duplicates kept)."""
    vsize = len(words)
    lists = [[i] + [vsize + h for h in ngram_hashes(w, min_n, max_n, bucket)] for i, w in enumerate(words)]
    offsets = np.zeros(vsize + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(rows) for rows in lists])
    rows = np.fromiter((r for rows in lists for r in rows), dtype=np.int64, count=int(offsets[-1]))
    return offsets, rows


def padded_rows(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR tables as a padded (V, M) int64 matrix of rows and its (V, M) 0/1 float32 mask, M the
    most rows of any word (padding: row 0, masked), for batched gathers."""
    counts = np.diff(offsets)
    width = int(counts.max()) if len(counts) else 1
    mask = np.arange(width)[None, :] < counts[:, None]
    table = np.zeros(mask.shape, dtype=np.int64)
    table[mask] = rows
    return table, mask.astype(np.float32)


SETTINGS = ("min_n", "max_n", "bucket")


def ngram_settings(meta: dict, where: object) -> tuple[int, int, int]:
    """(min_n, max_n, bucket) from the ``"fasttext"`` entry of a vectors directory's meta.json (read at
    ``where``, named in the error); DataError when it is missing or malformed."""
    settings = meta.get("fasttext")
    if not isinstance(settings, dict) or any(type(settings.get(key)) is not int for key in SETTINGS):
        raise DataError(f"{where}: meta.json has no fastText settings ({', '.join(SETTINGS)}); these are not "
                        f"fastText vectors")
    min_n, max_n, bucket = (settings[key] for key in SETTINGS)
    if bucket < 1 or min_n < 0 or max_n < 0:
        raise DataError(f"{where}: meta.json's fastText settings are out of range: {settings}")
    return min_n, max_n, bucket
