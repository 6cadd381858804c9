"""Reading a corpus before word2vec or GloVe trains: count the words into a vocabulary, then encode the
corpus as word ids (:class:`~seqlab.text.vocab.EncodedCorpus`), with a words-read progress bar on
stderr (hidden by ``quiet``).

:func:`read_corpus` does both in one pass of the C reader (:mod:`seqlab.text.scan_native`), or, where
it cannot be built, in two passes over the sentences (:func:`build_vocab`, then :func:`encode_corpus`),
with the same result."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from seqlab.errors import DataError
from seqlab.native import NativeUnavailable
from seqlab.progress import progress_bar
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import SPILL_ITEMS, EncodedCorpus, SpillArray, TrimRule, Vocab


def with_progress(sentences: Iterable[list[str]], desc: str, quiet: bool = False) -> Iterator[list[str]]:
    """``sentences`` as they are, counting their words on a progress bar labelled ``desc``."""
    with progress_bar(0, desc, "word", quiet) as bar:
        for sentence in sentences:
            bar.update(len(sentence))
            yield sentence


def build_vocab(sentences: Iterable[list[str]], min_count: int, max_vocab: int, source: str,
                quiet: bool = False, trim_rule: TrimRule | None = None) -> Vocab:
    """:meth:`Vocab.build` over ``sentences`` with a progress bar; ``max_vocab`` 0 keeps every word."""
    return Vocab.build(with_progress(sentences, "vocabulary", quiet), min_count, max_vocab or None, source=source,
                       trim_rule=trim_rule)


def encode_corpus(sentences: Iterable[list[str]], vocab: Vocab, quiet: bool = False) -> EncodedCorpus:
    """:meth:`EncodedCorpus.encode` of ``sentences`` with ``vocab``, with a progress bar."""
    return EncodedCorpus.encode(with_progress(sentences, "encoding", quiet), vocab)


def read_corpus(corpus: Corpus, min_count: int, max_vocab: int, vocab: Vocab | None = None,
                quiet: bool = False, trim_rule: TrimRule | None = None) -> tuple[Vocab, EncodedCorpus]:
    """The vocabulary of ``corpus`` (``vocab`` when given, else built as :func:`build_vocab` does, with
    gensim's ``trim_rule`` when given) and the corpus encoded with it; one pass in C where the kernel
    builds, else two in Python."""
    from seqlab.text import scan_native

    try:
        with progress_bar(0, "reading", "word", quiet) as bar:
            found = scan_native.scan(corpus, bar.update)
    except NativeUnavailable:
        if vocab is None:
            vocab = build_vocab(corpus, min_count, max_vocab, corpus.path, quiet, trim_rule)
        return vocab, encode_corpus(corpus, vocab, quiet)
    return _encoded(found.words, found.counts, found.ids, found.ends, min_count, max_vocab, vocab, corpus.path,
                    trim_rule)


def read_sentences(sentences: Iterable[Sequence[str]], min_count: int, max_vocab: int, vocab: Vocab | None = None,
                   quiet: bool = False, trim_rule: TrimRule | None = None, max_sentence_length: int = 10_000,
                   source: str = "sentences") -> tuple[Vocab, EncodedCorpus]:
    """:func:`read_corpus` for sentences given in Python (lists of string tokens, as gensim's
    ``Word2Vec(sentences=...)`` takes them; any iterable, a generator included: it is read once).
    Sentences longer than ``max_sentence_length`` tokens are cut into pieces, as gensim cuts at 10,000."""
    numbers: dict[str, int] = {}
    number = numbers.setdefault
    counts = np.zeros(0, dtype=np.int64)
    pending: list[np.ndarray] = []
    where = tempfile.gettempdir()

    def count(parts: list[np.ndarray]) -> np.ndarray:
        got = np.bincount(np.concatenate(parts), minlength=len(numbers)) if parts else np.zeros(0, np.int64)
        return np.concatenate([counts, np.zeros(len(got) - len(counts), np.int64)]) + got

    with SpillArray(np.int32, where) as ids, SpillArray(np.int64, where) as ends:
        total = waiting = 0  # tokens read; tokens not counted yet
        finished: list[int] = []  # sentence ends not yet in `ends`
        for sentence in with_progress(_checked(sentences, source), "reading", quiet):
            for start in range(0, len(sentence), max_sentence_length):
                piece = sentence[start:start + max_sentence_length]
                row = np.fromiter((number(w, len(numbers)) for w in piece), dtype=np.int32, count=len(piece))
                if len(row):
                    ids.append(row)
                    pending.append(row)
                    total, waiting = total + len(row), waiting + len(row)
                    finished.append(total)
            if len(finished) >= SPILL_ITEMS // 16 or waiting >= SPILL_ITEMS:
                counts, pending, waiting = count(pending), [], 0
                ends.append(np.asarray(finished, dtype=np.int64))
                finished = []
        counts = count(pending)
        ends.append(np.asarray(finished, dtype=np.int64))
        if total == 0:
            raise DataError(f"{source}: no tokens at all")
        words = list(numbers)
        odd = next((w for w in words if not isinstance(w, str)), None)
        if odd is not None:
            raise DataError(f"{source}: tokens must be strings, got {type(odd).__name__} {odd!r}")
        return _encoded(words, counts, ids.array(), ends.array(), min_count, max_vocab, vocab, source, trim_rule)


def _checked(sentences: Iterable[Sequence[str]], source: str) -> Iterator[Sequence[str]]:
    if isinstance(sentences, (str, bytes)):
        raise DataError(f"{source}: expected an iterable of sentences (lists of tokens), got a string; give a "
                        "file path as corpus_file, or split the text into lists of words")
    for s, sentence in enumerate(sentences):
        if isinstance(sentence, (str, bytes)):
            raise DataError(f"{source}: sentence {s + 1} is a string, not a list of tokens; split it first "
                            "(gensim would train on its characters)")
        yield sentence


def _encoded(words: list[str], counts: np.ndarray, numbers: np.ndarray, ends: np.ndarray, min_count: int,
             max_vocab: int, vocab: Vocab | None, source: str, trim_rule: TrimRule | None
             ) -> tuple[Vocab, EncodedCorpus]:
    """The vocabulary (``vocab``, or built from the distinct ``words`` and their ``counts``) and the corpus
    of word ``numbers`` with sentence ``ends`` encoded with it."""
    if vocab is None:
        vocab = Vocab.from_counts(words, counts, len(numbers), min_count, max_vocab or None, source, trim_rule)
    return vocab, recode(words, numbers, ends, vocab)


def recode(words: list[str], numbers: np.ndarray, ends: np.ndarray, vocab: Vocab) -> EncodedCorpus:
    """The corpus of tokens ``numbers`` (each a position in ``words``), sentence s ending before token
    ``ends[s]``, encoded with ``vocab`` (words outside it dropped), vectorised."""
    get = vocab.index.get
    ids = np.fromiter((get(word, -1) for word in words), dtype=np.int32, count=len(words))
    return EncodedCorpus.from_word_numbers(numbers, ends, ids)
