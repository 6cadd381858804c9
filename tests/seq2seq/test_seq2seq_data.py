"""Subword round trips, parallel-file reading and length-bucketed batches."""

from __future__ import annotations

import gzip

import pytest
import torch

from seqlab.errors import DataError
from seqlab.seq2seq.data import ParallelCorpus, read_parallel, read_tsv
from seqlab.seq2seq.dates import generate, held_out
from seqlab.text.subword import BOS, EOS, PAD, UNK, Subword


def test_subword_round_trip_and_special_ids():
    src, tgt = generate(2000, 0)
    sp = Subword.train(src, vocab_size=200, model_type="unigram")
    assert (sp.sp.pad_id(), sp.sp.unk_id(), sp.sp.bos_id(), sp.sp.eos_id()) == (PAD, UNK, BOS, EOS)
    for line in src[:200]:
        assert sp.decode(sp.encode(line)) == line
    again = Subword(sp.model_bytes)  # as it travels inside a checkpoint
    assert again.encode(src[0]) == sp.encode(src[0])
    char = Subword.train(tgt, vocab_size=100, model_type="char")
    assert char.unknown_characters("1999-12-31") == [] and char.unknown_characters("1999-12-3x") == ["x"]


@pytest.mark.data
def test_multi30k_subwords_round_trip(shared_data):
    with gzip.open(shared_data / "multi30k" / "train.de.gz", "rt", encoding="utf-8") as fh:
        german = [line.strip() for _, line in zip(range(5000), fh, strict=False)]
    for kind in ("unigram", "bpe"):
        sp = Subword.train(german, vocab_size=2000, model_type=kind)
        assert sum(sp.decode(sp.encode(s)) == s for s in german) / len(german) > 0.99
        assert len(sp.encode(german[0])) < len(german[0])


def test_read_parallel_and_tsv_errors(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("x\ny\n", encoding="utf-8")
    b.write_text("1\n", encoding="utf-8")
    with pytest.raises(DataError, match="b.txt: 1 lines, but .*a.txt has 2"):
        read_parallel(a, b)
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("Go.\tVa !\nHi.\n", encoding="utf-8")
    with pytest.raises(DataError, match="pairs.tsv: line 2 has 1 tab-separated fields"):
        read_tsv(tsv, 1, 0)
    tsv.write_text("Go.\tVa !\n\nHi.\tSalut !\n", encoding="utf-8")
    assert read_tsv(tsv, 1, 0) == (["Va !", "Salut !"], ["Go.", "Hi."])


def test_batches_cover_everything_once_and_are_bucketed():
    src, tgt = generate(1000, 1)
    sp = Subword.train(src + tgt, vocab_size=100, model_type="char")
    corpus = ParallelCorpus(src, tgt, sp, sp, max_len=60)
    batches = corpus.batches(32, shuffle=True, generator=torch.Generator().manual_seed(0))
    flat = sorted(i for b in batches for i in b)
    assert flat == corpus.keep
    spread = [max(len(corpus.src_ids[i]) for i in b) - min(len(corpus.src_ids[i]) for i in b) for b in batches]
    assert sum(spread) / len(spread) < 3  # sorted within pools: little padding
    again = corpus.batches(32, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert again == batches
    batch = corpus.batch(batches[0])
    assert (batch.tgt_in[:, 0] == BOS).all()
    lengths = (batch.tgt_out != PAD).sum(1)
    assert (batch.tgt_out[torch.arange(len(lengths)), lengths - 1] == EOS).all()
    assert batch.src_lengths.tolist() == [len(corpus.src_ids[i]) for i in batches[0]]


def test_held_out_dates_are_unseen():
    train = set(generate(5000, 3)[0])
    src, tgt = held_out(500, 4, 3, 5000)
    assert not train & set(src) and len(set(src)) == 500
    assert all(len(t) == 10 and t[4] == "-" for t in tgt)
