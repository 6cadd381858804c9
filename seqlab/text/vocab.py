"""Vocabulary: word counts with min-count and max-vocab pruning, in a stable order.

Words are ordered by count, most frequent first, ties by first appearance in the corpus (as
gensim does: a stable sort of the counts in insertion order). The vocabulary keeps its counts,
which word2vec needs for subsampling, the noise distribution and the Huffman tree.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from seqlab.errors import DataError
from seqlab.io import atomic_open, open_text


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
              source: str = "corpus") -> Vocab:
        """Count ``sentences`` and keep words with count >= ``min_count``, at most ``max_vocab`` of them.

        Raises DataError naming ``source`` when no word survives.
        """
        counter: Counter[str] = Counter()
        total = 0
        for sentence in sentences:
            counter.update(sentence)
            total += len(sentence)
        items = [(w, c) for w, c in counter.items() if c >= min_count]
        items.sort(key=lambda wc: -wc[1])  # stable: ties keep first-appearance order
        if max_vocab is not None and max_vocab > 0:
            items = items[:max_vocab]
        if not items:
            raise DataError(
                f"{source}: no word occurs at least {min_count} times "
                f"({len(counter)} distinct words, {total} tokens); lower --min-count"
            )
        words = [w for w, _ in items]
        counts = np.fromiter((c for _, c in items), dtype=np.int64, count=len(items))
        return cls(words, counts, total)

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
