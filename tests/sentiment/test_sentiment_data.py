"""Readers (SST, TSV, CSV) and their errors, tokenisation, the vocabulary with UNK, vector alignment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import ConfigError, DataError
from seqlab.sentiment.data import (
    PAD,
    UNK,
    align_vectors,
    build_words,
    encode,
    extend_words,
    label_names,
    load_vectors,
    pad_batch,
    read_examples,
    tokenize,
)

SST5 = label_names(5)


def test_tokenize_splits_free_text_and_leaves_sst_unchanged():
    assert tokenize("Isn't it GREAT?") == ["is", "n't", "it", "great", "?"]
    assert tokenize("\"Fine\" film, it's the U.S. version...") == ["``", "fine", "''", "film", ",", "it", "'s", "the",
                                                                 "u.s.", "version", "..."]
    sst = "it 's a -lrb- mostly -rrb- charming , sweet film that wo n't hurt ... and the u.s. ."
    assert tokenize(sst) == sst.split()


def test_label_names():
    assert label_names(2) == ("negative", "positive")
    assert SST5[0] == "very negative" and SST5[4] == "very positive"
    assert label_names(3) == ("0", "1", "2")
    assert label_names(2, "con, pro") == ("con", "pro")
    with pytest.raises(ConfigError):
        label_names(3, "a,b")


def test_read_sst_tsv_csv(tmp_path):
    (tmp_path / "a.txt").write_text("4 a stirring , funny film\n\n0 dull .\n")
    sst = read_examples(tmp_path / "a.txt", SST5)
    assert sst.labels == [4, 0] and sst.tokens[1] == ["dull", "."] and sst.lines == [1, 3]
    (tmp_path / "b.tsv").write_text("positive\tGreat Film!\nnegative\tdull\n1\tok\n")
    tsv = read_examples(tmp_path / "b.tsv", label_names(2))
    assert tsv.labels == [1, 0, 1] and tsv.tokens[0] == ["great", "film", "!"]
    (tmp_path / "c.csv").write_text('id,review,stars\n7,"Bad, very bad",0\n8,"fine",1\n')
    csv = read_examples(tmp_path / "c.csv", label_names(2), label_column="stars", text_column="review", header=True)
    assert csv.labels == [0, 1] and csv.tokens[0] == ["bad", ",", "very", "bad"] and csv.lines == [2, 3]
    by_index = read_examples(tmp_path / "c.csv", label_names(2), label_column="2", text_column="1", header=True)
    assert by_index.tokens == csv.tokens


@pytest.mark.parametrize("name, content, kwargs, message", [
    ("x.txt", "3 fine\npositive great\n", {}, "x.txt: line 2: expected 'LABEL text'"),
    ("x.txt", "3 fine\n7 great\n", {}, "x.txt: line 2: label 7 is out of range for 5 classes"),
    ("x.txt", "3 fine\n2\n", {}, "x.txt: line 2: the text is empty"),
    ("x.tsv", "1\tfine\n1 great\n", {}, "x.tsv: line 2: expected label<TAB>text"),
    ("x.tsv", "1\tfine\nsuper\tgreat\n", {}, "x.tsv: line 2: label 'super' is neither"),
    ("x.csv", "label,text\n1,a\n", {"header": True, "text_column": "review"}, "x.csv: no column 'review'"),
    ("x.csv", "1,a\n2\n", {}, "x.csv: line 2: 1 columns"),
    ("x.txt", "\n\n", {}, "x.txt: no labelled sentences"),
])
def test_bad_files_name_the_file_and_line(tmp_path, name, content, kwargs, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace("'", "'")):
        read_examples(tmp_path / name, SST5, **kwargs)


def test_vocabulary_and_unk():
    words = build_words([["good", "film", "good"], ["bad", "film", "good"]], min_count=2)
    assert words == ["<pad>", "<unk>", "good", "film"]
    index = {w: i for i, w in enumerate(words)}
    assert encode(["good", "bad", "unseen", "film"], index) == [2, UNK, UNK, 3]
    ids, lengths = pad_batch([[2, 3, 2], [3]])
    assert ids.tolist() == [[2, 3, 2], [3, PAD, PAD]] and lengths.tolist() == [3, 1]
    with pytest.raises(DataError, match="training data"):
        build_words([["a"]], min_count=2)


def test_align_vectors_copies_rows_and_reports_coverage():
    words = ["<pad>", "<unk>", "good", "Paris", "zzz", "film"]
    counts = {"good": 5, "Paris": 2, "zzz": 3, "film": 10}
    known = ["film", "good", "paris", "other"]
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3) + 1
    emb, coverage = align_vectors(words, counts, (known, matrix), torch.Generator().manual_seed(0))
    assert emb.shape == (6, 3)
    assert torch.equal(emb[2], torch.tensor(matrix[1])) and torch.equal(emb[5], torch.tensor(matrix[0]))
    assert torch.equal(emb[3], torch.tensor(matrix[2]))  # lowercased fallback
    assert torch.equal(emb[PAD], torch.zeros(3))
    assert coverage.found == 3 and coverage.words == 4
    assert coverage.token_share == pytest.approx(17 / 20) and coverage.types == pytest.approx(0.75)
    assert "3/4 words (75.0%)" in str(coverage)


def test_load_vectors_word2vec_text_glove_text_and_native(tmp_path):
    kv = KeyedVectors(["good", "bad", "film"], np.arange(6, dtype=np.float32).reshape(3, 2))
    kv.save(tmp_path / "w2v.txt")
    kv.save(tmp_path / "native")
    (tmp_path / "glove.txt").write_text("good 0 1\nbad 2 3\nfilm 4 5\n")
    for path in ("w2v.txt", "native", "glove.txt"):
        words, rows = load_vectors(str(tmp_path / path))
        assert words == kv.words and np.array_equal(rows, kv.vectors.numpy()), path
    words, rows = load_vectors(str(tmp_path / "glove.txt"), wanted={"film"})
    assert words == ["film"] and rows.tolist() == [[4.0, 5.0]]
    (tmp_path / "bad.txt").write_text("good 0 1\nbad 2\n")
    with pytest.raises(DataError, match="bad.txt: line 2: expected 2 values"):
        load_vectors(str(tmp_path / "bad.txt"))
    with pytest.raises(DataError, match="no such vectors"):
        load_vectors(str(tmp_path / "missing.txt"))


@pytest.mark.data
def test_sst_files_and_default_vector_coverage(shared_data):
    fine = read_examples(shared_data / "sst" / "stsa.fine.train", SST5)
    assert len(fine) == 8544
    assert np.bincount(fine.labels).tolist() == [1092, 2218, 1624, 2322, 1288]  # ../shared/data/README.md
    binary = read_examples(shared_data / "sst" / "stsa.binary.test", label_names(2))
    assert np.bincount(binary.labels).tolist() == [912, 909]
    words = build_words(fine.tokens)
    counts: dict[str, int] = {}
    for t in fine.tokens:
        for w in t:
            counts[w] = counts.get(w, 0) + 1
    _, coverage = align_vectors(words, counts, load_vectors("default", set(words)), torch.Generator())
    assert 0.55 < coverage.types < 0.8 and coverage.token_share > 0.75


def test_extend_words_appends_new_lowercase_vector_words_in_order():
    words = ["<pad>", "<unk>", "good", "film"]
    vector_words = ["the", "good", "Paris", "paris", "zebra", "the"]
    assert extend_words(words, vector_words) == [*words, "the", "paris", "zebra"]
    assert extend_words(words, vector_words, lowercase=False) == [*words, "the", "Paris", "paris", "zebra"]
    assert extend_words(words, vector_words, limit=2) == [*words, "the", "paris"]
