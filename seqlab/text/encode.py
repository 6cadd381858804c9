"""Reading a corpus before word2vec or GloVe trains: count the words into a vocabulary, then encode the
corpus as word ids (:class:`~seqlab.text.vocab.EncodedCorpus`), with a words-read progress bar on
stderr (hidden by ``quiet``).

:func:`read_corpus` does both in one pass of the C reader (:mod:`seqlab.text.scan_native`), or, where
it cannot be built, in two passes over the sentences (:func:`build_vocab`, then :func:`encode_corpus`),
with the same result."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from seqlab.native import NativeUnavailable
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import EncodedCorpus, Vocab
from seqlab.training import progress_bar


def with_progress(sentences: Iterable[list[str]], desc: str, quiet: bool = False) -> Iterator[list[str]]:
    """``sentences`` as they are, counting their words on a progress bar labelled ``desc``."""
    with progress_bar(0, desc, "word", quiet) as bar:
        for sentence in sentences:
            bar.update(len(sentence))
            yield sentence


def build_vocab(sentences: Iterable[list[str]], min_count: int, max_vocab: int, source: str,
                quiet: bool = False) -> Vocab:
    """:meth:`Vocab.build` over ``sentences`` with a progress bar; ``max_vocab`` 0 keeps every word."""
    return Vocab.build(with_progress(sentences, "vocabulary", quiet), min_count, max_vocab or None, source=source)


def encode_corpus(sentences: Iterable[list[str]], vocab: Vocab, quiet: bool = False) -> EncodedCorpus:
    """:meth:`EncodedCorpus.encode` of ``sentences`` with ``vocab``, with a progress bar."""
    return EncodedCorpus.encode(with_progress(sentences, "encoding", quiet), vocab)


def read_corpus(corpus: Corpus, min_count: int, max_vocab: int, vocab: Vocab | None = None,
                quiet: bool = False) -> tuple[Vocab, EncodedCorpus]:
    """The vocabulary of ``corpus`` (``vocab`` when given, else built as :func:`build_vocab` does) and the
    corpus encoded with it; one pass in C where the kernel builds, else two in Python."""
    from seqlab.text import scan_native

    try:
        with progress_bar(0, "reading", "word", quiet) as bar:
            found = scan_native.scan(corpus, bar.update)
    except NativeUnavailable:
        if vocab is None:
            vocab = build_vocab(corpus, min_count, max_vocab, corpus.path, quiet)
        return vocab, encode_corpus(corpus, vocab, quiet)
    if vocab is None:
        vocab = Vocab.from_counts(found.words, found.counts, len(found.ids), min_count, max_vocab or None,
                                  corpus.path)
    get = vocab.index.get
    ids = np.fromiter((get(word, -1) for word in found.words), dtype=np.int32, count=len(found.words))
    return vocab, EncodedCorpus.from_word_numbers(found.ids, found.ends, ids)
