"""Token-id BLEU in torch: equal to the string implementation (and so to sacrebleu)."""

from __future__ import annotations

import gzip
import random

import pytest
import sacrebleu
import torch

from seqlab.metrics.bleu import BLEU, SMOOTH_METHODS
from seqlab.metrics.bleu_ids import (
    bleu_statistics,
    corpus_bleu_ids,
    pad_ids,
    sentence_bleu_from_statistics,
    sentence_bleu_ids,
    string_statistics,
)


def encode(streams_of_tokens, vocab):
    return [[vocab.setdefault(t, len(vocab)) for t in tokens] for tokens in streams_of_tokens]


def batch(hyps, refs, device="cpu", pad=0, extra=0):
    """hyps: lists of ids; refs: K lists (streams) of lists of ids or None -> padded tensors."""
    h, hl = pad_ids(hyps, device, pad)
    streams = [pad_ids([r if r is not None else [] for r in stream], device, pad) for stream in refs]
    width = max(ids.shape[1] for ids, _ in streams) + extra
    r = torch.full((len(hyps), len(refs), width), pad, dtype=torch.long, device=device)
    for k, (ids, _) in enumerate(streams):
        r[:, k, :ids.shape[1]] = ids
    rl = torch.stack([lengths for _, lengths in streams], 1)
    missing = torch.tensor([[x is None for x in stream] for stream in refs], device=device).T
    if extra:
        h = torch.cat([h, torch.full((len(hyps), extra), pad, dtype=torch.long, device=device)], 1)
    return h, hl, r, rl.masked_fill(missing, -1)


def random_case(rng, size, vocab_size, num_refs, with_missing=True):
    def sentence():
        return [f"w{rng.randrange(vocab_size)}" for _ in range(rng.randint(0, 12))]

    hyps = [" ".join(sentence()) for _ in range(size)]
    refs = [[" ".join(sentence()) for _ in range(size)] for _ in range(num_refs)]
    if with_missing and num_refs > 1:
        for i in range(size):
            if rng.random() < 0.3:
                refs[rng.randrange(1, num_refs)][i] = None
    return hyps, refs


def ids_of(hyps, refs):
    vocab: dict[str, int] = {}
    return (encode([h.split() for h in hyps], vocab),
            [encode([r.split() if r is not None else [] for r in stream], vocab) for stream in refs],
            vocab)


@pytest.mark.parametrize("seed", range(6))
def test_statistics_equal_string_implementation(seed):
    rng = random.Random(seed)
    hyps, refs = random_case(rng, size=40, vocab_size=rng.randint(1, 8), num_refs=rng.randint(1, 3))
    hyp_ids, ref_ids, _ = ids_of(hyps, refs)
    ref_ids = [[ids if r is not None else None for ids, r in zip(s_ids, s, strict=True)]
               for s_ids, s in zip(ref_ids, refs, strict=True)]
    expected = torch.tensor(BLEU(tokenize="none").statistics(hyps, refs))
    for pad, extra in [(0, 0), (7, 3), (-1, 1)]:
        got = bleu_statistics(*batch(hyp_ids, ref_ids, pad=pad, extra=extra))
        assert torch.equal(got, expected), (pad, extra)


def test_padding_never_counts():
    """Appending padding (or changing its id) leaves every statistic unchanged."""
    rng = random.Random(3)
    hyps, refs = random_case(rng, size=30, vocab_size=3, num_refs=2, with_missing=False)
    hyp_ids, ref_ids, _ = ids_of(hyps, refs)
    base = bleu_statistics(*batch(hyp_ids, ref_ids))
    for pad in (0, 1, 2, 99):
        assert torch.equal(bleu_statistics(*batch(hyp_ids, ref_ids, pad=pad, extra=5)), base)


def test_single_reference_2d_form():
    h, hl = pad_ids([[1, 2, 3, 4], [5, 6]])
    r, rl = pad_ids([[1, 2, 3, 5], [5, 6, 7]])
    assert torch.equal(bleu_statistics(h, hl, r, rl), bleu_statistics(h, hl, r.unsqueeze(1), rl.unsqueeze(1)))


@pytest.mark.parametrize("smooth", SMOOTH_METHODS)
@pytest.mark.parametrize("effective_order", [True, False])
def test_sentence_scores_equal_sacrebleu(smooth, effective_order):
    rng = random.Random(11)
    hyps, refs = random_case(rng, size=80, vocab_size=5, num_refs=2, with_missing=False)
    hyp_ids, ref_ids, _ = ids_of(hyps, refs)
    scores = sentence_bleu_ids(*batch(hyp_ids, ref_ids), smooth_method=smooth, effective_order=effective_order)
    metric = sacrebleu.BLEU(tokenize="none", smooth_method=smooth, effective_order=effective_order)
    expected = torch.tensor([metric.sentence_score(h, [a, b]).score for h, a, b in zip(hyps, *refs, strict=True)],
                            dtype=torch.float64)
    torch.testing.assert_close(scores, expected, rtol=1e-12, atol=1e-10)


def test_smoothing_values_vectorised():
    rng = random.Random(2)
    hyps, refs = random_case(rng, size=50, vocab_size=6, num_refs=1)
    hyp_ids, ref_ids, _ = ids_of(hyps, refs)
    stats = bleu_statistics(*batch(hyp_ids, ref_ids))
    for smooth, value in [("floor", 0.25), ("add-k", 3.0)]:
        scores = sentence_bleu_from_statistics(stats, smooth, value)
        expected = [sacrebleu.sentence_bleu(h, [r], smooth_method=smooth, smooth_value=value, tokenize="none").score
                    for h, r in zip(hyps, refs[0], strict=True)]
        torch.testing.assert_close(scores, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-10)


def test_corpus_score_equal_sacrebleu_exactly():
    rng = random.Random(4)
    hyps, refs = random_case(rng, size=200, vocab_size=9, num_refs=3)
    hyp_ids, ref_ids, _ = ids_of(hyps, refs)
    ref_ids = [[ids if r is not None else None for ids, r in zip(s_ids, s, strict=True)]
               for s_ids, s in zip(ref_ids, refs, strict=True)]
    ours = corpus_bleu_ids(*batch(hyp_ids, ref_ids))
    theirs = sacrebleu.corpus_bleu(hyps, refs, tokenize="none")
    assert ours.score == theirs.score and list(ours.counts) == theirs.counts


def test_empty_batch_and_empty_sentences():
    h, hl = pad_ids([[], [1]])
    r, rl = pad_ids([[1, 2], []])
    stats = bleu_statistics(h, hl, r, rl)
    assert stats.tolist() == [[0, 2, 0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 1, 0, 0, 0]]
    assert sentence_bleu_ids(h, hl, r, rl).tolist() == [0.0, 0.0]


def test_negative_token_id_is_rejected():
    with pytest.raises(ValueError, match=">= 0"):
        bleu_statistics(torch.tensor([[1, -3]]), torch.tensor([2]), torch.tensor([[1, 2]]), torch.tensor([2]))


@pytest.mark.data
def test_multi30k_ids_equal_strings(shared_data):
    """13a-tokenised Multi30k, ids from the same tokenisation: statistics equal row by row."""
    with gzip.open(shared_data / "multi30k" / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as fh:
        en = [line.rstrip("\n") for line in fh]
    with gzip.open(shared_data / "multi30k" / "test_2017_flickr.en.gz", "rt", encoding="utf-8") as fh:
        other = [line.rstrip("\n") for line in fh]
    rng = random.Random(8)
    hyps = [" ".join(w for w in line.split() if rng.random() > 0.2) for line in en]
    for lowercase in (False, True):
        metric = BLEU(lowercase=lowercase)
        expected = torch.tensor(metric.statistics(hyps, [en, other]))
        assert torch.equal(string_statistics(metric, hyps, [en, other]), expected)
    scores = sentence_bleu_from_statistics(expected)
    sacre = [sacrebleu.sentence_bleu(h, [a, b], lowercase=True).score for h, a, b in zip(hyps, en, other, strict=True)]
    torch.testing.assert_close(scores, torch.tensor(sacre, dtype=torch.float64), rtol=1e-12, atol=1e-10)


@pytest.mark.gpu
def test_cuda_equals_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    rng = random.Random(9)
    hyps, refs = random_case(rng, size=500, vocab_size=20, num_refs=3)
    hyp_ids, ref_ids, _ = ids_of(hyps, refs)
    ref_ids = [[ids if r is not None else None for ids, r in zip(s_ids, s, strict=True)]
               for s_ids, s in zip(ref_ids, refs, strict=True)]
    cpu = bleu_statistics(*batch(hyp_ids, ref_ids))
    gpu = bleu_statistics(*batch(hyp_ids, ref_ids, device="cuda"))
    assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)
    torch.testing.assert_close(sentence_bleu_from_statistics(gpu).cpu(), sentence_bleu_from_statistics(cpu))
    assert torch.equal(cpu, torch.tensor(BLEU(tokenize="none").statistics(hyps, refs)))
