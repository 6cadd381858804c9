"""The IMDB pretraining corpus: SST-style tokens, one review a line."""

from __future__ import annotations

import lzma

import pytest

from seqlab.errors import DataError
from seqlab.sentiment.pretrain import imdb_corpus, sst_tokenize


def test_tokens_look_like_sst():
    assert sst_tokenize("They presume their audience won't sit still (really)<br />It's re-imagining.") == [
        "they", "presume", "their", "audience", "wo", "n't", "sit", "still", "-lrb-", "really", "-rrb-", "it",
        "'s", "re-imagining", "."]


def test_corpus_from_tsv_xz(tmp_path):
    with lzma.open(tmp_path / "imdb_train.tsv.xz", "wt", encoding="utf-8") as fh:
        fh.write("id\trating\tlabel\ttext\n1\t9\tpos\tGreat film!\n2\t2\tneg\tI didn't like it.\n")
    assert imdb_corpus(tmp_path, tmp_path / "out.txt") == 9
    assert (tmp_path / "out.txt").read_text().splitlines() == ["great film !", "i did n't like it ."]
    with pytest.raises(DataError, match="no imdb_"):
        imdb_corpus(tmp_path / "none", tmp_path / "x.txt")
