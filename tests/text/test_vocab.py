"""Vocabulary: pruning, the order of words (count, then first appearance), totals, files, encoding."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.errors import DataError
from seqlab.text.vocab import Vocab

# counts: the 5, cat 3, sat 2, on 2, mat 2, a 1, dog 1 (16 tokens); "sat" appears before "on" and "mat"
SENTENCES = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["a", "cat", "sat", "on", "the", "mat"],
    [],
    ["the", "dog", "cat"],
    ["the"],
]


def test_order_by_count_ties_by_first_appearance():
    vocab = Vocab.build(SENTENCES, min_count=1)
    assert vocab.words == ["the", "cat", "sat", "on", "mat", "a", "dog"]
    assert vocab.counts.tolist() == [5, 3, 2, 2, 2, 1, 1]
    assert vocab.counts.dtype == np.int64
    assert vocab.index == {w: i for i, w in enumerate(vocab.words)}
    assert len(vocab) == 7 and "dog" in vocab and "bird" not in vocab


def test_ties_follow_first_appearance_not_alphabet():
    vocab = Vocab.build([["zeta", "beta", "alpha"], ["alpha", "beta", "zeta"], ["omega"]], min_count=1)
    assert vocab.words == ["zeta", "beta", "alpha", "omega"]


def test_min_count_prunes_but_total_words_counts_every_token():
    vocab = Vocab.build(SENTENCES, min_count=2)
    assert vocab.words == ["the", "cat", "sat", "on", "mat"]
    assert vocab.counts.tolist() == [5, 3, 2, 2, 2]
    assert vocab.total_words == 16  # "a" and "dog" are pruned but were read
    assert Vocab.build(SENTENCES, min_count=4).words == ["the"]


def test_max_vocab_keeps_the_most_frequent():
    assert Vocab.build(SENTENCES, min_count=1, max_vocab=3).words == ["the", "cat", "sat"]
    assert Vocab.build(SENTENCES, min_count=1, max_vocab=4).words == ["the", "cat", "sat", "on"]  # tie cut
    assert Vocab.build(SENTENCES, min_count=1, max_vocab=100).words == Vocab.build(SENTENCES, min_count=1).words
    assert len(Vocab.build(SENTENCES, min_count=1, max_vocab=0)) == 7  # 0: no limit
    assert Vocab.build(SENTENCES, min_count=2, max_vocab=2).total_words == 16


def test_no_word_above_min_count_names_the_source():
    with pytest.raises(DataError, match=r"news\.txt: no word occurs at least 6 times \(7 distinct words, 16 tokens\)"):
        Vocab.build(SENTENCES, min_count=6, source="news.txt")
    with pytest.raises(DataError, match="no word occurs"):
        Vocab.build([], min_count=1)


def test_encode_drops_out_of_vocabulary_words():
    vocab = Vocab.build(SENTENCES, min_count=2)
    encoded = list(vocab.encode([["the", "dog", "sat", "on", "a", "mat"], ["unknown", "words"], []]))
    assert [e.tolist() for e in encoded] == [[0, 2, 3, 4], [], []]
    assert all(e.dtype == np.int32 for e in encoded)


def test_save_load_round_trip(tmp_path):
    vocab = Vocab.build(SENTENCES + [["Zürich", "naïve", "Zürich"]], min_count=1)
    path = tmp_path / "vocab.tsv"
    vocab.save(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["#total_words\t19", "the\t5", "cat\t3"]
    loaded = Vocab.load(path)
    assert loaded.words == vocab.words
    assert loaded.counts.tolist() == vocab.counts.tolist()
    assert loaded.total_words == vocab.total_words == 19
    assert loaded.index["Zürich"] == vocab.index["Zürich"]
    assert not list(tmp_path.glob("*.tmp"))


def test_load_without_total_sums_the_counts(tmp_path):
    path = tmp_path / "vocab.tsv"
    path.write_text("b\t3\na\t2\n", encoding="utf-8")
    loaded = Vocab.load(path)
    assert loaded.words == ["b", "a"] and loaded.total_words == 5


@pytest.mark.parametrize("text,message", [
    ("#total_words\t5\nthe\t3\ncat\n", r"vocab\.tsv: line 3: expected word<TAB>count"),
    ("the\t3\ncat\tmany\n", r"vocab\.tsv: line 2: count 'many' is not an integer"),
    ("#total_words\t0\n", r"vocab\.tsv: empty vocabulary file"),
    ("the\t3\nthe\t2\n", "duplicate"),
])
def test_load_malformed_file_names_the_line(tmp_path, text, message):
    path = tmp_path / "vocab.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        Vocab.load(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        Vocab.load(tmp_path / "missing.tsv")
