"""seqlab.text.encode (the corpus passes of word2vec and GloVe) and the lazy front doors of seqlab.text and
seqlab.embeddings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import seqlab.embeddings
import seqlab.text
from seqlab.text.corpus import Corpus
from seqlab.text.encode import build_vocab, encode_corpus, with_progress
from seqlab.text.vocab import EncodedCorpus, Vocab

LINES = "the cat sat on the mat\nthe dog sat\n\na cat and a dog and the cat\n"


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(LINES, encoding="utf-8")
    with Corpus(str(path)) as sentences:
        yield sentences


def test_the_passes_equal_vocab_build_and_encode(corpus, capsys):
    vocab = build_vocab(corpus, 2, 0, "c.txt", quiet=True)
    reference = Vocab.build(corpus, 2)
    assert vocab.words == reference.words == ["the", "cat", "sat", "dog", "a", "and"]
    assert vocab.counts.tolist() == reference.counts.tolist() and vocab.total_words == reference.total_words == 17
    assert build_vocab(corpus, 1, 3, "c.txt", quiet=True).words == ["the", "cat", "sat"]
    data, expected = encode_corpus(corpus, vocab, quiet=True), EncodedCorpus.encode(corpus, vocab)
    assert np.array_equal(data.ids, expected.ids) and np.array_equal(data.starts, expected.starts)
    assert data.raw_words == 17
    assert capsys.readouterr().err == ""


def test_with_progress_passes_the_sentences_through_and_counts_words(corpus, capsys, progress_bars):
    assert list(with_progress(corpus, "reading")) == list(corpus)
    assert "reading" in capsys.readouterr().err and list(with_progress(iter([]), "x", quiet=True)) == []


def test_word2vec_still_exports_encoded_corpus():
    from seqlab.embeddings.word2vec import EncodedCorpus as FromWord2Vec

    assert FromWord2Vec is EncodedCorpus


@pytest.mark.parametrize("package", [seqlab.text, seqlab.embeddings])
def test_the_front_door_lists_and_finds_its_api(package):
    assert package.__all__ and len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        value = getattr(package, name)  # imports the submodule that defines it
        assert vars(package)[name] is value  # and is found there from then on
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_importing_a_front_door_or_a_light_module_imports_nothing_heavy():
    code = ("import sys, seqlab.embeddings, seqlab.text, seqlab.text.vocab, seqlab.embeddings.vectors_io; "
            "heavy = [m for m in ('torch', 'gensim', 'seqlab.embeddings.keyed_vectors') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
