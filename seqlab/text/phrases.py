"""Phrases: bigrams that occur together more often than chance become one token (``new york`` ->
``new_york``), by Mikolov et al. 2013 ("Distributed Representations of Words and Phrases and their
Compositionality", section 4), with gensim 4's counts, scores and rules (``gensim.models.phrases``):

    default:  score(a, b) = (count(a b) - min_count) / (count(a) count(b)) * len_vocab
    npmi:     score(a, b) = ln(p(a b) / (p(a) p(b))) / -ln p(a b),  p(x) = count(x) / corpus_word_count
              (Bouma 2009; -inf when count(a b) < min_count)

and ``a b`` is a phrase when its score is above ``threshold`` (the paper's discount is ``min_count``; gensim
scales by ``len_vocab`` where word2phrase.c scales by the corpus size). ``count(w)`` counts w where it is not a
connector word; a bigram is two non-connector words of one sentence with only connector words between
them (``bank of america`` -> ``bank_of_america`` with ``connector_words=ENGLISH_CONNECTOR_WORDS``);
``corpus_word_count`` is every token. ``len_vocab`` is what gensim's dict of counts holds: the distinct
non-connector words plus the distinct joined bigrams. The joined string is the key there, so where words
contain the delimiter, ``new_york city`` and ``new york_city`` are one entry and ``count("new_york")``
includes the bigram ``new york``; this module keeps that. A sentence is read greedily from the left:
a candidate that is a phrase is joined, and the word after it starts afresh.

The bigrams are counted vectorised over the corpus encoded as word ids, a chunk of tokens at a time,
into sorted arrays; nothing is pruned, so the counts are exact. gensim prunes its dict of counts when
it grows past ``max_vocab_size`` (40 million unigram and bigram entries), which changes its counts on
such corpora; below that the two agree exactly.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqlab.config import check_finite, require, setting
from seqlab.errors import ConfigError, DataError
from seqlab.text.corpus import SPLITTERS, Corpus, tokenize_setting

# gensim's: words that may stand inside a phrase, never at its ends
ENGLISH_CONNECTOR_WORDS = frozenset(" a an the for of with without at from to in on by and or ".split())
CONNECTOR_WORDS = {"english": ENGLISH_CONNECTOR_WORDS, "none": frozenset()}
CHUNK_TOKENS = 1 << 20  # token positions counted at a time


def original_scorer(worda_count: Any, wordb_count: Any, bigram_count: Any, len_vocab: Any, min_count: Any,
                    corpus_word_count: Any) -> Any:
    """Mikolov et al.'s score, ``(bigram_count - min_count) / (worda_count * wordb_count) * len_vocab``
    (-inf when a word count is 0), for numbers or numpy arrays; the same floats as gensim's."""
    if _one(worda_count, wordb_count, bigram_count):  # gensim's arithmetic, without numpy's overhead
        denom = worda_count * wordb_count
        return (bigram_count - min_count) / float(denom) * len_vocab if denom else -math.inf
    denom = np.multiply(worda_count, wordb_count, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.subtract(bigram_count, min_count, dtype=np.float64) / denom * len_vocab
    return np.where(denom == 0, -np.inf, score)


def npmi_scorer(worda_count: Any, wordb_count: Any, bigram_count: Any, len_vocab: Any, min_count: Any,
                corpus_word_count: Any) -> Any:
    """Normalised pointwise mutual information in [-1, 1] (Bouma 2009), -inf where ``bigram_count <
    min_count`` or a count is 0, for numbers or numpy arrays; gensim's formula, operation for operation."""
    if _one(worda_count, wordb_count, bigram_count):
        if bigram_count < min_count or not (worda_count and wordb_count and bigram_count):
            return -math.inf
        total = float(corpus_word_count)
        pa, pb, pab = worda_count / total, wordb_count / total, bigram_count / total
        return math.log(pab / (pa * pb)) / -math.log(pab)
    total = np.asarray(corpus_word_count, dtype=np.float64)
    pa, pb, pab = (np.divide(count, total, dtype=np.float64) for count in (worda_count, wordb_count, bigram_count))
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.log(pab / (pa * pb)) / -np.log(pab)
    usable = (np.asarray(bigram_count) >= min_count) & (pa > 0) & (pb > 0) & (pab > 0)
    return np.where(usable, score, -np.inf)


def _one(*counts: Any) -> bool:
    """True when the counts are of one bigram (numbers), not arrays."""
    return not any(isinstance(count, np.ndarray) for count in counts)


SCORERS = {"default": original_scorer, "npmi": npmi_scorer}


@dataclass(frozen=True)
class PhrasesConfig:
    """Settings of phrase detection; the defaults are gensim's ``Phrases``. In Python, ``connector_words``
    may also be any set of words (gensim's ``connector_words``)."""

    min_count: int = setting(5, "A bigram seen fewer times is never a phrase.", flag=True)
    threshold: float = setting(10.0, "Join a bigram whose score is above this (default scoring: positive; npmi: "
                                     "-1 to 1).", flag=True)
    scoring: str = setting("default", "How a bigram is scored: default (Mikolov et al. 2013) or npmi (normalised "
                                      "pointwise mutual information).", flag=True, choices=tuple(SCORERS))
    delimiter: str = setting("_", "What joins the words of a phrase.", flag=True)
    connector_words: str | Collection[str] = setting(
        "none", "Words that may stand inside a phrase but never start or end one: english (gensim's "
                "ENGLISH_CONNECTOR_WORDS: a, the, of, and, ...) or none.",
        flag=True, choices=tuple(CONNECTOR_WORDS))
    lowercase: bool = setting(False, "Lowercase the corpus.", flag=True)
    tokenize: str = tokenize_setting()
    max_sentence_length: int = setting(10_000, "Cut longer lines into pieces of this many words (as gensim's "
                                               "LineSentence does).")

    @property
    def connectors(self) -> frozenset[str]:
        """The connector words: the set named by ``connector_words``, or the words it holds."""
        if isinstance(self.connector_words, str):
            return CONNECTOR_WORDS[self.connector_words]
        return frozenset(self.connector_words)

    def validate(self) -> None:
        """ConfigError naming the first setting out of its range (gensim's ranges)."""
        check_finite(self)
        named = isinstance(self.connector_words, str)
        require(
            (self.scoring in SCORERS, f"scoring must be default or npmi, got {self.scoring!r}"),
            (self.tokenize in SPLITTERS, f"tokenize must be {' or '.join(SPLITTERS)}, got {self.tokenize!r}"),
            (self.min_count > 0, f"min_count must be at least 1, got {self.min_count}"),
            (self.scoring != "default" or self.threshold > 0,
             f"threshold must be positive for the default scoring, got {self.threshold:g}"),
            (self.scoring != "npmi" or -1 <= self.threshold <= 1,
             f"threshold must be between -1 and 1 for npmi scoring, got {self.threshold:g}"),
            (isinstance(self.delimiter, str) and self.delimiter != "", "delimiter must be a non-empty string"),
            (self.connector_words in CONNECTOR_WORDS if named else
             all(isinstance(w, str) for w in self.connector_words),
             f"connector_words must be english, none or a set of words, got {self.connector_words!r}"),
            (self.max_sentence_length >= 1, "max_sentence_length must be positive"),
        )


class Phrases:
    """Bigram phrases learnt from a corpus, applied to sentences as gensim's ``Phrases`` does.

    ``Phrases(sentences, min_count=1, threshold=1, connector_words=ENGLISH_CONNECTOR_WORDS)`` takes
    gensim's keywords (fields of :class:`PhrasesConfig`; ``config`` gives them all at once), and
    ``sentences`` as :meth:`fit` does. ``phrases[sentence]`` is :meth:`apply`. Not gensim's: a custom
    scoring function (the two scorers run vectorised), ``max_vocab_size`` (nothing is pruned) and
    ``add_vocab`` (fitting again starts afresh).
    """

    def __init__(self, sentences: Any = None, *, config: PhrasesConfig | None = None, quiet: bool = True,
                 **settings: Any) -> None:
        known = {f.name for f in dataclasses.fields(PhrasesConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        self.config = dataclasses.replace(config or PhrasesConfig(), **settings)
        self.config.validate()
        self.connector_words = self.config.connectors
        self.delimiter, self.min_count, self.threshold = self.config.delimiter, self.config.min_count, \
            self.config.threshold
        self.corpus_word_count = self.len_vocab = 0
        self._scorer = SCORERS[self.config.scoring]
        self._words: list[str] | None = None
        if sentences is not None:
            self.fit(sentences, quiet=quiet)

    # ------------------------------------------------------------------------------------ learning
    def fit(self, sentences: str | os.PathLike | Corpus | Iterable[Sequence[str]], quiet: bool = True) -> Phrases:
        """Count the words and bigrams of ``sentences``: a corpus file (read as :class:`Corpus` with this
        config's ``lowercase``, ``tokenize`` and ``max_sentence_length``), a :class:`Corpus`, or lists of
        tokens (any iterable, read once; never cut). Returns ``self``."""
        from seqlab.text.encode import read_corpus, read_sentences

        if isinstance(sentences, (str, os.PathLike)):
            sentences = self._corpus(sentences)
        if isinstance(sentences, Corpus):
            vocab, encoded = read_corpus(sentences, 1, 0, quiet=quiet)
        else:
            vocab, encoded = read_sentences(sentences, 1, 0, quiet=quiet, max_sentence_length=sys.maxsize)
        words = vocab.words
        connector = np.fromiter((w in self.connector_words for w in words), dtype=bool, count=len(words))
        self._words, self._index, self._connector = words, vocab.index, connector
        self._unigram = np.where(connector, 0, vocab.counts)
        self.corpus_word_count = int(vocab.total_words)
        pair, mid, count, middles = _span_counts(encoded.ids, encoded.starts, connector)
        self._middles = list(middles)
        self._middle_index = middles
        self._settle(pair, mid, count)
        return self

    def _settle(self, pair: np.ndarray, mid: np.ndarray, count: np.ndarray) -> None:
        """Turn the bigram counts (sorted by (pair, mid)) into gensim's dict of counts: the table of plain
        bigrams (no word in them holds the delimiter), the joined strings of the others, ``len_vocab``, the
        scores and the phrases."""
        size, runs = len(self._words), len(self._middles)
        delimited = np.fromiter((self.delimiter in w for w in self._words), dtype=bool, count=size)
        inner = np.fromiter((bool(delimited[list(m)].any()) for m in self._middles), dtype=bool, count=runs)
        plain = ~(delimited[pair // size] | delimited[pair % size] | inner[mid])
        joined = self._join(pair[~plain], mid[~plain], count[~plain], np.flatnonzero(delimited & ~self._connector))
        pair, mid = pair[plain], mid[plain]
        new = np.ones(len(pair), dtype=bool)
        new[1:] = pair[1:] != pair[:-1]
        self._pairs, self._counts = pair[new], count[plain]
        self._keys = (np.cumsum(new) - 1) * runs + mid  # sorted, as (pair, mid) was
        alone = []  # the joined strings that no plain bigram shares; one that a plain bigram shares is one entry
        for key, c in joined.items():
            k = self._find(key.split(self.delimiter))
            if k >= 0:
                self._counts[k] += c
                joined[key] = int(self._counts[k])
            else:
                alone.append(key)
        self._joined = joined
        self.len_vocab = int(np.count_nonzero(~delimited & ~self._connector)) + len(self._counts) + len(alone)
        left, right = np.divmod(self._pairs[self._keys // runs], size)
        scores = self._score_counts(self._unigram[left], self._unigram[right], self._counts)
        found = np.flatnonzero(scores > self.threshold)
        self._phrasegrams = {self._tokens(int(self._pairs[k // runs]), k % runs): score
                             for k, score in zip(self._keys[found].tolist(), scores[found].tolist(), strict=True)}
        self._joined_phrases = self._score_joined(alone)

    def _join(self, pair: np.ndarray, mid: np.ndarray, count: np.ndarray, words: np.ndarray) -> dict[str, int]:
        """The counts of the bigrams ``(pair, mid)`` and of the ``words`` that hold the delimiter, by joined string."""
        joined = {self._words[i]: int(self._unigram[i]) for i in words.tolist()}
        join = self.delimiter.join
        for p, m, c in zip(pair.tolist(), mid.tolist(), count.tolist(), strict=True):
            key = join(self._tokens(p, m))
            joined[key] = joined.get(key, 0) + c
        return joined

    def _score_joined(self, keys: list[str]) -> dict[str, float]:
        """The phrases among the joined strings ``keys``, scored as gensim's export scores them: by the
        counts of their first and last parts."""
        d, get = self.delimiter, self._index.get
        ends = [np.fromiter((get(part(key), -1) for key in keys), dtype=np.int64, count=len(keys))
                for part in (lambda key: key.split(d, 1)[0], lambda key: key.rsplit(d, 1)[-1])]
        first, last = (np.where(at >= 0, self._unigram[at], 0) for at in ends)
        scores = self._score_counts(first, last, np.fromiter(map(self._joined.get, keys), np.int64, len(keys)))
        found = np.flatnonzero((first > 0) & (last > 0) & (scores > self.threshold))
        return {keys[i]: score for i, score in zip(found.tolist(), scores[found].tolist(), strict=True)}

    def _score_counts(self, worda: Any, wordb: Any, bigram: Any) -> Any:
        return self._scorer(worda_count=worda, wordb_count=wordb, bigram_count=bigram, len_vocab=self.len_vocab,
                            min_count=self.min_count, corpus_word_count=self.corpus_word_count)

    # ------------------------------------------------------------------------------------ looking up
    def _tokens(self, pair: int, mid: int) -> tuple[str, ...]:
        left, right = divmod(pair, len(self._words))
        return (self._words[left], *(self._words[i] for i in self._middles[mid]), self._words[right])

    def _word_count(self, word: str) -> int:
        """gensim's count of a word without the delimiter: 0 for a connector or an unknown word."""
        i = self._index.get(word)
        return 0 if i is None else int(self._unigram[i])

    def _find(self, parts: Sequence[str]) -> int:
        """The row of the plain bigram whose words are ``parts`` (first and last not connectors, the rest
        connectors), or -1."""
        ids = [self._index.get(p) for p in parts]
        if len(ids) < 2 or None in ids or self._connector[ids[0]] or self._connector[ids[-1]]:
            return -1
        mid = self._middle_index.get(tuple(ids[1:-1]))  # holds runs of connectors only
        pair = ids[0] * len(self._words) + ids[-1]
        rank = int(np.searchsorted(self._pairs, pair)) if mid is not None else len(self._pairs)
        if rank == len(self._pairs) or self._pairs[rank] != pair:
            return -1
        key = rank * len(self._middles) + mid
        k = int(np.searchsorted(self._keys, key))
        return k if k < len(self._keys) and self._keys[k] == key else -1

    def _count(self, text: str) -> int:
        """gensim's ``vocab.get(text, 0)``: a word's or a joined bigram's count."""
        if text in self._joined:
            return self._joined[text]
        parts = text.split(self.delimiter)
        if len(parts) == 1:
            return self._word_count(text)
        k = self._find(parts)
        return int(self._counts[k]) if k >= 0 else 0

    def score(self, worda: str, wordb: str, between: Sequence[str] = ()) -> float:
        """The score of the bigram ``worda between... wordb`` (connector words between), as gensim's
        ``score_candidate`` computes it; -inf where gensim does not score (a count is 0)."""
        self._check_fitted()
        counts = (self._count(worda), self._count(wordb), self._count(self.delimiter.join([worda, *between, wordb])))
        return float(self._score_counts(*counts)) if min(counts) > 0 else float("-inf")

    def export_phrases(self) -> dict[str, float]:
        """Every phrase of the corpus (joined with the delimiter) with its score, best first: gensim's
        ``export_phrases()``."""
        self._check_fitted()
        found = {self.delimiter.join(tokens): score for tokens, score in self._phrasegrams.items()}
        found.update(self._joined_phrases)
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    def write_phrases(self, path: str | os.PathLike) -> int:
        """Write ``phrase<TAB>score`` lines, best first, atomically to ``path``; returns how many."""
        from seqlab.io import atomic_open

        found = self.export_phrases()
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.writelines(f"{phrase}\t{score!r}\n" for phrase, score in found.items())
        return len(found)

    # ------------------------------------------------------------------------------------ applying
    def _phrase(self, worda: str, between: list[str], wordb: str) -> str | None:
        """The joined phrase when ``worda between wordb`` is one, else None."""
        d = self.delimiter
        if d not in worda and d not in wordb and not (between and any(d in w for w in between)):
            tokens = (worda, *between, wordb)  # the usual case: a dict look-up
            if not self._joined:
                return d.join(tokens) if tokens in self._phrasegrams else None
            text = d.join(tokens)
            if text not in self._joined:
                return text if tokens in self._phrasegrams else None
        return d.join([worda, *between, wordb]) if self.score(worda, wordb, between) > self.threshold else None

    def _analyze(self, sentence: Sequence[str]) -> tuple[list[str], int]:
        """(the sentence with its phrases joined, how many were joined): gensim's ``analyze_sentence``."""
        if isinstance(sentence, (str, bytes)):
            raise DataError("a sentence is a list of tokens, not a string; split it first")
        connectors, out, start, between, joined = self.connector_words, [], None, [], 0
        for word in sentence:
            if word in connectors:
                (out if start is None else between).append(word)
                continue
            if start is not None:
                phrase = self._phrase(start, between, word)
                if phrase is not None:
                    out.append(phrase)
                    start, between, joined = None, [], joined + 1
                    continue
                out.append(start)
                out.extend(between)
            start, between = word, []
        if start is not None:
            out.append(start)
            out.extend(between)
        return out, joined

    def apply(self, sentence: Sequence[str]) -> list[str]:
        """``sentence`` (tokens) with its phrases joined by the delimiter, read greedily from the left:
        gensim's ``phrases[sentence]``."""
        self._check_fitted()
        return self._analyze(sentence)[0]

    __getitem__ = apply

    def transform(self, sentences: Iterable[Sequence[str]]) -> Iterator[list[str]]:
        """:meth:`apply` to each sentence, lazily."""
        self._check_fitted()
        for sentence in sentences:
            yield self._analyze(sentence)[0]

    def transform_file(self, corpus: str | os.PathLike | Corpus, output: str | os.PathLike,
                       quiet: bool = True) -> dict[str, int]:
        """Write ``corpus`` (a file, read as :meth:`fit` reads one, or a :class:`Corpus`) with its phrases
        joined to ``output`` atomically, one sentence a line, a sentence at a time. Returns the counts of
        ``sentences``, ``tokens_read``, ``tokens_written`` and phrases ``joined``."""
        from seqlab.io import atomic_open
        from seqlab.text.encode import with_progress

        self._check_fitted()
        corpus = self._corpus(corpus) if isinstance(corpus, (str, os.PathLike)) else corpus
        stats = dict.fromkeys(("sentences", "tokens_read", "tokens_written", "joined"), 0)
        with atomic_open(output, "w", encoding="utf-8") as fh:
            for sentence in with_progress(corpus, "phrases", quiet):
                words, joined = self._analyze(sentence)
                fh.write(" ".join(words) + "\n")
                stats["sentences"] += 1
                stats["tokens_read"] += len(sentence)
                stats["tokens_written"] += len(words)
                stats["joined"] += joined
        return stats

    def _corpus(self, path: str | os.PathLike) -> Corpus:
        cfg = self.config
        return Corpus(str(path), lowercase=cfg.lowercase, max_sentence_length=cfg.max_sentence_length,
                      tokenize=cfg.tokenize)

    def _check_fitted(self) -> None:
        if self._words is None:
            raise DataError("these phrases have not been learnt yet: call fit(sentences) first")

    def __repr__(self) -> str:
        learnt = f"{self.len_vocab} vocab, " if self._words is not None else "not fitted, "
        return (f"Phrases<{learnt}min_count={self.min_count}, threshold={self.threshold}, "
                f"scoring={self.config.scoring}>")


# ---------------------------------------------------------------------------------------- counting
def _span_counts(ids: np.ndarray, starts: np.ndarray, connector: np.ndarray, chunk: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[tuple[int, ...], int]]:
    """Count the bigrams of the corpus ``ids`` (N,) with sentences ``ids[starts[s]:starts[s + 1]]``: each
    word that is not a connector (``connector`` (V,) by word id) with the previous such word of its
    sentence, when only connectors stand between them. Returns ``pair`` = left * V + right (B,) int64,
    ``mid`` (B,) int32, the number of the connector words between (0: none) in the returned dict of
    middles, and ``count`` (B,) int64, sorted by (pair, mid). Vectorised, ``chunk`` positions at a time;
    the memory beyond the chunk is the distinct bigrams."""
    size, chunk = len(connector), chunk or CHUNK_TOKENS
    middles: dict[tuple[int, ...], int] = {(): 0}
    done = (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64))
    waiting: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    last = -1  # the position of the last word that is not a connector, in an earlier chunk
    for lo in range(0, len(ids), chunk):
        at = np.flatnonzero(~connector[np.asarray(ids[lo:lo + chunk])]) + lo
        if not len(at):
            continue
        before = np.concatenate(([last], at[:-1]))
        last = int(at[-1])
        same = (before >= 0) & (np.searchsorted(starts, at, "right") == np.searchsorted(starts, before, "right"))
        left, right = before[same], at[same]
        pair = ids[left].astype(np.int64) * size + ids[right]
        waiting.append(_tally(pair, _middle_numbers(ids, left, right - left - 1, middles),
                              np.ones(len(pair), np.int64)))
        if sum(len(w[0]) for w in waiting) >= max(len(done[0]), chunk):  # merges stay O(B log B) in all
            done, waiting = _tally(*(np.concatenate(parts) for parts in zip(done, *waiting, strict=True))), []
    if waiting:
        done = _tally(*(np.concatenate(parts) for parts in zip(done, *waiting, strict=True)))
    return (*done, middles)


def _tally(pair: np.ndarray, mid: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (pair, mid) in sorted order with their summed ``count``."""
    order = np.lexsort((mid, pair)) if mid.any() else np.argsort(pair)
    pair, mid, count = pair[order], mid[order], count[order]
    new = np.ones(len(pair), dtype=bool)
    new[1:] = (pair[1:] != pair[:-1]) | (mid[1:] != mid[:-1])
    at = np.flatnonzero(new)
    return pair[at], mid[at], np.add.reduceat(count, at) if len(at) else count


def _middle_numbers(ids: np.ndarray, left: np.ndarray, gap: np.ndarray, middles: dict[tuple[int, ...], int]
                    ) -> np.ndarray:
    """(B,) int32: for each bigram at positions ``left`` and ``left + gap + 1``, the number in ``middles``
    (extended here) of the ``gap`` connector words between; 0 where there are none."""
    out = np.zeros(len(left), dtype=np.int32)
    inside = np.flatnonzero(gap > 0)
    inside = inside[np.argsort(gap[inside], kind="stable")]
    for group in np.split(inside, np.flatnonzero(np.diff(gap[inside])) + 1):
        if len(group):  # the bigrams with the same number of words between, as rows of a matrix
            rows = np.asarray(ids[left[group, None] + 1 + np.arange(gap[group[0]])])
            seen, inverse = np.unique(rows, axis=0, return_inverse=True)
            numbers = np.fromiter((middles.setdefault(tuple(r), len(middles)) for r in seen.tolist()),
                                  dtype=np.int32, count=len(seen))
            out[group] = numbers[inverse.reshape(-1)]
    return out
