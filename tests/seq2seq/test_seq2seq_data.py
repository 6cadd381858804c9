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


@pytest.mark.parametrize(("kind", "alpha", "nbest"), [("unigram", 0.1, 64), ("unigram", 0.5, -1), ("bpe", 0.1, -1)])
def test_subword_sampling_decodes_back_and_is_seeded(kind, alpha, nbest):
    """Subword regularisation / BPE-dropout: every sampled segmentation decodes to its text, the same seed
    gives the same segmentations, another seed others, and many differ from the best segmentation."""
    src, _ = generate(2000, 0)
    sp = Subword.train(src, vocab_size=300, model_type=kind)
    texts = src[:300]
    best = sp.encode_batch(texts)
    first = sp.sample_batch(texts, alpha, nbest, seed=3)
    assert [sp.decode(ids) for ids in first] == [sp.decode(ids) for ids in best]
    assert sp.sample_batch(texts, alpha, nbest, seed=3) == first
    assert sp.sample_batch(texts, alpha, nbest, seed=4) != first
    assert sum(a != b for a, b in zip(first, best, strict=True)) > 30


def test_corpus_resample_keeps_the_pairs_and_the_length_limit():
    src, tgt = generate(600, 2)
    src_sp = Subword.train(src, vocab_size=300, model_type="unigram")
    tgt_sp = Subword.train(tgt, vocab_size=60, model_type="unigram")
    corpus = ParallelCorpus(src, tgt, src_sp, tgt_sp, max_len=12)
    keep, src_best, tgt_best = list(corpus.keep), list(corpus.src_ids), list(corpus.tgt_ids)
    corpus.resample(0.1, 64, seed=1)
    assert corpus.keep == keep and corpus.src_base == src_best
    assert all(0 < len(corpus.src_ids[i]) <= 12 and 0 < len(corpus.tgt_ids[i]) <= 12 for i in keep)
    assert all(src_sp.decode(corpus.src_ids[i]) == src_sp.decode(src_best[i])
               and tgt_sp.decode(corpus.tgt_ids[i]) == tgt_sp.decode(tgt_best[i]) for i in keep)
    assert sum(corpus.src_ids[i] != src_best[i] for i in keep) > len(keep) // 4
    assert sum(corpus.tgt_ids[i] != tgt_best[i] for i in keep) > len(keep) // 4
    batch = corpus.batch(keep[:8])
    assert batch.src.shape[1] == max(len(corpus.src_ids[i]) for i in keep[:8])
    corpus.resample(0.0, 64, seed=1)
    assert corpus.src_ids == src_best and corpus.tgt_ids == tgt_best


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
