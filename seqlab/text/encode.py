"""The two passes over a corpus before word2vec or GloVe trains: count the words into a vocabulary, then
encode the corpus as word ids (:class:`~seqlab.text.vocab.EncodedCorpus`), each with a words-read
progress bar on stderr (hidden by ``quiet``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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
