"""Reading the real text8-style Wikipedia corpus in ../shared/data (runs in CI, skips in a fresh clone)."""

import itertools
import lzma
from pathlib import Path

import pytest

from seqlab.text.corpus import iter_sentences

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "corpus" / "wiki2015-text8style.xz"
pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not CORPUS.exists(), reason="../shared/data is absent (a fresh clone): runs in CI"),
]


def test_text8_style_corpus_streams_in_10k_word_sentences():
    head = list(itertools.islice(iter_sentences(CORPUS, max_sentence_length=10_000), 20))
    assert all(len(s) == 10_000 for s in head)
    # the same tokens as a plain split of the decompressed prefix
    with lzma.open(CORPUS, "rt") as fh:
        text = fh.read(2_000_000)
    expected = text.split()[:-1]  # the last token may be cut by the 2 MB prefix
    flat = [w for s in head for w in s]
    assert flat[: len(expected)] == expected[: len(flat)]
    assert all(w.isalpha() and w.islower() for w in flat)
