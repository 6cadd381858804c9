"""Vocabulary: word counts with min-count and max-vocab pruning, in a stable order; a corpus encoded as ids.

Words are ordered by count, most frequent first, ties by first appearance in the corpus (as
gensim does: a stable sort of the counts in insertion order). The vocabulary keeps its counts,
which word2vec needs for subsampling, the noise distribution and the Huffman tree.

An :class:`EncodedCorpus` holds the word ids (int32) and the sentence boundaries (one int64 offset
per sentence) in unnamed temporary files mapped into memory, written through a bounded buffer: the
memory a corpus takes is the pages in use, which the system can drop, not 4-8 bytes per token of
heap; the files vanish when the arrays are freed or the process ends, however it ends.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from seqlab.errors import DataError
from seqlab.io import atomic_open, open_text

SPILL_ITEMS = 1 << 20  # ids buffered in memory before they are appended to their file
SPILL_PIECES = 1 << 16  # ... or sentences (of ids, or of offsets)
# what a trim_rule(word, count, min_count) returns (gensim.utils' values): the default rule, drop, keep
RULE_DEFAULT, RULE_DISCARD, RULE_KEEP = 0, 1, 2
TrimRule = Callable[[str, int, int], int]


@dataclass
class Vocab:
    """Words in index order with their corpus counts.

    ``total_words`` is the number of tokens in the corpus (pruned words included), the
    denominator of word frequencies.
    """

    words: list[str]
    counts: np.ndarray  # (V,) int64
    total_words: int = 0
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise DataError("vocabulary has duplicate words")

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int = 5, max_vocab: int | None = None,
              source: str = "corpus", trim_rule: TrimRule | None = None) -> Vocab:
        """Count ``sentences`` and keep words with count >= ``min_count`` (or as ``trim_rule`` says), at
        most ``max_vocab`` of them (see :meth:`from_counts`).

        Raises DataError naming ``source`` when no word survives.
        """
        counter: Counter[str] = Counter()
        total = 0
        for sentence in sentences:
            counter.update(sentence)
            total += len(sentence)
        counts = np.fromiter(counter.values(), dtype=np.int64, count=len(counter))
        return cls.from_counts(list(counter), counts, total, min_count, max_vocab, source, trim_rule)

    @classmethod
    def from_counts(cls, words: list[str], counts: np.ndarray, total: int, min_count: int = 5,
                    max_vocab: int | None = None, source: str = "corpus", trim_rule: TrimRule | None = None) -> Vocab:
        """The vocabulary of distinct ``words`` in order of first appearance with their ``counts``
        (``total`` tokens in all): the words with count >= ``min_count``, most frequent first (ties in
        first-appearance order), at most ``max_vocab`` of them. ``trim_rule(word, count, min_count)``, as in
        gensim, overrides the count rule per word: ``RULE_KEEP``, ``RULE_DISCARD`` or ``RULE_DEFAULT``."""
        counts = np.asarray(counts, dtype=np.int64)
        keep = counts >= min_count
        if trim_rule is not None:
            rules = np.fromiter((trim_rule(w, c, min_count) for w, c in zip(words, counts.tolist(), strict=True)),
                                dtype=np.int64, count=len(words))
            keep = np.where(rules == RULE_KEEP, True, np.where(rules == RULE_DISCARD, False, keep))
        order = np.argsort(-counts, kind="stable")  # stable: ties keep first-appearance order
        order = order[keep[order]]
        if max_vocab is not None and max_vocab > 0:
            order = order[:max_vocab]
        if not len(order):
            raise DataError(
                f"{source}: no word occurs at least {min_count} times "
                f"({len(words)} distinct words, {total} tokens); lower --min-count"
            )
        return cls([words[i] for i in order.tolist()], counts[order], total)

    def encode(self, sentences: Iterable[list[str]]) -> Iterator[np.ndarray]:
        """Yield each sentence as an int32 array of word ids, out-of-vocabulary words dropped."""
        get = self.index.get
        for sentence in sentences:
            yield np.fromiter((i for i in map(get, sentence) if i is not None), dtype=np.int32)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``word<TAB>count`` lines (index order) atomically; the first line holds the total."""
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write(f"#total_words\t{self.total_words}\n")
            for w, c in zip(self.words, self.counts.tolist(), strict=True):
                fh.write(f"{w}\t{c}\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        words: list[str] = []
        counts: list[int] = []
        total = 0
        with open_text(path) as fh:
            for n, line in enumerate(fh, 1):
                parts = line.rstrip("\n").split("\t")
                if n == 1 and parts[0] == "#total_words":
                    total = int(parts[1])
                    continue
                if len(parts) != 2:
                    raise DataError(f"{path}: line {n}: expected word<TAB>count")
                try:
                    counts.append(int(parts[1]))
                except ValueError:
                    raise DataError(f"{path}: line {n}: count {parts[1]!r} is not an integer") from None
                words.append(parts[0])
        if not words:
            raise DataError(f"{path}: empty vocabulary file")
        return cls(words, np.asarray(counts), total or int(sum(counts)))


@dataclass
class EncodedCorpus:
    """A corpus as word ids: ``ids`` (N,) int32 with out-of-vocabulary words removed, ``starts``
    (S + 1,) int64 with sentence s (of those keeping a word) at ``ids[starts[s]:starts[s + 1]]``,
    and ``raw_words``, the token count before removal. Both arrays may be memory-mapped files.
    """

    ids: np.ndarray
    starts: np.ndarray
    raw_words: int

    @property
    def sentence(self) -> np.ndarray:
        """(N,) int32 sentence number of each token (4 bytes a token: for small corpora and tests)."""
        return np.repeat(np.arange(len(self.starts) - 1, dtype=np.int32), np.diff(self.starts))

    def sentence_of(self, positions: np.ndarray) -> np.ndarray:
        """(P,) int64 sentence number of the tokens at ``positions`` (P,)."""
        return np.searchsorted(self.starts, positions, side="right") - 1

    @classmethod
    def encode(cls, sentences: Iterable[list[str]], vocab: Vocab, directory: str | os.PathLike | None = None
               ) -> EncodedCorpus:
        """Encode ``sentences`` with ``vocab`` into temporary files in ``directory`` (default: the
        system's temporary directory, TMPDIR); DataError when that place is full or not writable."""
        where = directory or tempfile.gettempdir()
        raw = 0

        def counted() -> Iterator[list[str]]:
            nonlocal raw
            for sentence in sentences:
                raw += len(sentence)
                yield sentence

        with SpillArray(np.int32, where) as ids, SpillArray(np.int64, where) as starts:
            ends = [0]
            for encoded in vocab.encode(counted()):
                if len(encoded):
                    ids.append(encoded)
                    ends.append(ids.count)
                    if len(ends) >= SPILL_PIECES:
                        starts.append(np.asarray(ends, np.int64))
                        ends = []
            starts.append(np.asarray(ends, np.int64))
            return cls(ids.array(), starts.array(), raw)


    @classmethod
    def from_word_numbers(cls, numbers: np.ndarray, ends: np.ndarray, ids: np.ndarray,
                          directory: str | os.PathLike | None = None) -> EncodedCorpus:
        """The corpus whose tokens are ``numbers`` (N,) (each the number of a distinct word), a sentence
        ending after token ``ends[s] - 1``, encoded with ``ids`` (W,) int32, the vocabulary id of each
        distinct word (-1: out of the vocabulary), as :meth:`encode` would: vectorised, a chunk of
        tokens at a time, into temporary files in ``directory`` (default TMPDIR)."""
        where = directory or tempfile.gettempdir()
        ids = np.asarray(ids, dtype=np.int32)
        with SpillArray(np.int32, where) as out, SpillArray(np.int64, where) as starts:
            starts.append(np.zeros(1, np.int64))
            kept = last = 0  # tokens kept so far; the last sentence end written
            for lo in range(0, len(numbers), SPILL_ITEMS):
                hi = min(lo + SPILL_ITEMS, len(numbers))
                mapped = ids[numbers[lo:hi]]
                keep = mapped >= 0
                out.append(mapped[keep])
                kept_to = np.cumsum(keep)  # tokens kept in [lo, lo + i]
                a, b = np.searchsorted(ends, [lo, hi], side="right")
                finished = kept + kept_to[np.asarray(ends[a:b]) - lo - 1]  # the kept tokens when they ended
                finished = finished[np.diff(finished, prepend=last) > 0]  # a sentence left empty is dropped
                if len(finished):
                    starts.append(finished)
                    last = int(finished[-1])
                kept += int(kept_to[-1]) if len(kept_to) else 0
            return cls(out.array(), starts.array(), len(numbers))


class SpillArray:
    """An array written through a bounded buffer to an unnamed temporary file, then mapped (copy on
    write, so torch can wrap it); the file goes when the mapping is freed."""

    def __init__(self, dtype: type, directory: str | os.PathLike) -> None:
        self.dtype, self.directory = np.dtype(dtype), directory
        self.buffer: list[np.ndarray] = []
        self.buffered = self.count = 0
        self.file: IO[bytes] | None = None

    def __enter__(self) -> SpillArray:
        try:
            self.file = tempfile.TemporaryFile(prefix="seqlab-encoded-", dir=self.directory)
        except OSError as exc:
            raise self._error(exc) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def append(self, values: np.ndarray) -> None:
        self.buffer.append(values)
        self.buffered += len(values)
        self.count += len(values)
        if self.buffered >= SPILL_ITEMS or len(self.buffer) >= SPILL_PIECES:
            self._flush()

    def _flush(self) -> None:
        try:
            for values in self.buffer:
                self.file.write(values.astype(self.dtype, copy=False).tobytes())
            self.file.flush()
        except OSError as exc:  # a full disk
            raise self._error(exc) from None
        self.buffer, self.buffered = [], 0

    def array(self) -> np.ndarray:
        """Everything appended, as a (count,) array mapped from the file (a plain one when empty)."""
        self._flush()
        if self.count == 0:
            return np.zeros(0, self.dtype)
        return np.memmap(self.file, dtype=self.dtype, mode="c", shape=(self.count,))

    def _error(self, exc: OSError) -> DataError:
        return DataError(f"cannot write the encoded corpus to a temporary file in {self.directory} "
                         f"({exc.strerror or exc}); free some space there or set TMPDIR to a roomier place")
