"""Fixtures of the embedding tests."""

from __future__ import annotations

import pytest

from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import EncodedCorpus, Vocab


@pytest.fixture(scope="session")
def lee() -> tuple[Vocab, EncodedCorpus]:
    """gensim's Lee corpus (lowercased) with its min-count-2 vocabulary, encoded."""
    corpus = Corpus(str(gensim_test_data("lee_background.cor")), lowercase=True)
    vocab = Vocab.build(corpus, min_count=2)
    return vocab, EncodedCorpus.encode(corpus, vocab)
