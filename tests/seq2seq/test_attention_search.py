"""Attention masks, length and coverage penalties, and beam search against exhaustive and greedy search."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from seqlab.errors import ConfigError
from seqlab.seq2seq.attention import Attention, masked_softmax
from seqlab.seq2seq.model import ModelConfig, Seq2Seq
from seqlab.seq2seq.search import beam_search, coverage_penalty, greedy_search, length_penalty, max_lengths
from seqlab.text.subword import BOS, EOS, UNK


@pytest.mark.parametrize("kind", ["additive", "general", "dot"])
def test_attention_sums_to_one_and_ignores_padding(kind):
    torch.manual_seed(0)
    att = Attention(kind, 8, 8)
    memory = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    query = torch.randn(3, 8)
    context, weights = att(query, att.keys(memory), memory, mask)
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    assert (weights[~mask] == 0).all()
    assert torch.allclose(weights[2, 0], torch.tensor(1.0))
    # garbage in the padded positions changes nothing
    noisy = memory.clone()
    noisy[~mask] = 1e3 * torch.randn(int((~mask).sum()), 8)
    context2, weights2 = att(query, att.keys(noisy), noisy, mask)
    torch.testing.assert_close(weights2, weights)
    torch.testing.assert_close(context2, context)


def test_masked_softmax_by_hand():
    scores = torch.tensor([[1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, True, False]])
    e1, e2 = math.exp(1.0), math.exp(2.0)
    torch.testing.assert_close(masked_softmax(scores, mask), torch.tensor([[e1 / (e1 + e2), e2 / (e1 + e2), 0.0]]))


def test_additive_attention_equations():
    """e_s = v^T tanh(W_q h + W_k m_s), written out."""
    torch.manual_seed(1)
    att = Attention("additive", 4, 6, attention_size=5)
    memory, query = torch.randn(1, 3, 6), torch.randn(1, 4)
    mask = torch.ones(1, 3, dtype=torch.bool)
    _, weights = att(query, att.keys(memory), memory, mask)
    e = torch.stack([att.v.weight[0] @ torch.tanh(att.query_proj(query)[0] + att.key_proj.weight @ memory[0, s])
                     for s in range(3)])
    torch.testing.assert_close(weights[0], torch.softmax(e, 0))


def test_length_penalty_arithmetic():
    lengths = torch.tensor([1, 4, 9])
    torch.testing.assert_close(length_penalty(lengths, 0.5, "length"), torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(length_penalty(lengths, 1.0, "gnmt"), (5 + lengths.float()) / 6)
    torch.testing.assert_close(length_penalty(lengths, 0.0, "gnmt"), torch.ones(3))
    with pytest.raises(ValueError):
        length_penalty(lengths, 0.5, "bogus")
    assert max_lengths(torch.tensor([4, 10]), 1.5, 2).tolist() == [8, 17]


def tiny_model(seed: int, vocab: int = 6, cell: str = "gru") -> Seq2Seq:
    torch.manual_seed(seed)
    model = Seq2Seq(ModelConfig(src_vocab=vocab, tgt_vocab=vocab, cell=cell, emb_dim=8, hidden_size=8, enc_layers=1,
                                dec_layers=1, dropout=0.0, attention="general"))
    with torch.no_grad():  # spread the output distribution so that search choices matter
        model.out.weight.mul_(4.0)
    return model.eval()


@torch.no_grad()
def objective(model, src, lengths, seq, alpha, penalty, beta=0.0):
    """The search objective of one output ``seq`` (ending in EOS), from a teacher-forced pass:
    log P / length penalty + the coverage penalty of the attention summed over its steps."""
    tgt = torch.tensor([seq])
    logp = float(model.score(src, lengths, tgt)[0])
    score = logp / float(length_penalty(torch.tensor(len(seq)), alpha, penalty))
    if beta:
        tgt_in = torch.tensor([[BOS, *seq[:-1]]])
        _, weights = model(src, lengths, tgt_in, return_attention=True)
        mask = torch.arange(src.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        score += float(coverage_penalty(weights.sum(1), mask, beta)[0])
    return score


def exhaustive_best(model, src, max_len, alpha, penalty, beta=0.0):
    """Score every output of up to max_len tokens (EOS included) and return the best normalised one."""
    vocab = model.cfg.tgt_vocab
    tokens = [UNK, *range(EOS + 1, vocab)]  # what the search may emit besides EOS
    best, best_score = None, -math.inf
    for length in range(0, max_len):
        for body in itertools.product(tokens, repeat=length):
            score = objective(model, src, torch.tensor([src.shape[1]]), [*body, EOS], alpha, penalty, beta)
            if score > best_score:
                best, best_score = list(body), score
    return best, best_score


def test_coverage_penalty_arithmetic():
    """cp = beta * sum over real source positions of log(min(coverage, 1)); padding and coverage >= 1 cost 0."""
    coverage = torch.tensor([[0.5, 1.3, 0.0], [0.25, 0.0, 2.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    cp = coverage_penalty(coverage, mask, 0.2)
    assert cp[0].item() == pytest.approx(0.2 * math.log(0.5))
    assert cp[1].item() == pytest.approx(0.2 * (math.log(0.25) + math.log(1e-20)))
    assert coverage_penalty(torch.ones(2, 3), mask, 5.0).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("seed,alpha,penalty,beta", [(0, 0.7, "length", 0.2), (1, 0.0, "length", 1.0),
                                                     (2, 1.0, "gnmt", 0.5), (6, 0.7, "length", 2.0)])
def test_beam_with_coverage_penalty_equals_exhaustive_search(seed, alpha, penalty, beta):
    """With the coverage penalty the search still finds the best output of the penalised objective."""
    model = tiny_model(seed)
    src = torch.tensor([[4, 5, 4, 5]])
    max_len = 4
    expected, expected_score = exhaustive_best(model, src, max_len, alpha, penalty, beta)
    found = beam_search(model, src, torch.tensor([4]), beam=128, alpha=alpha, penalty=penalty,
                        max_len_ratio=0.0, max_len_offset=max_len, beta=beta)
    assert found.best()[0] == expected
    assert float(found.scores[0, 0]) == pytest.approx(expected_score, rel=1e-5)


def test_coverage_penalty_changes_the_choice_and_follows_the_beams():
    """Over a batch, a narrow beam's n-best scores are each hypothesis's own penalised objective (the
    coverage travels with its beam through the reordering), and a strong penalty changes some outputs."""
    model = tiny_model(11, vocab=10)
    src = torch.randint(4, 10, (5, 7), generator=torch.Generator().manual_seed(2))
    lengths = torch.tensor([7, 6, 5, 4, 7])
    plain = beam_search(model, src, lengths, beam=3, nbest=3, alpha=0.7, max_len_ratio=1.0, max_len_offset=3)
    found = beam_search(model, src, lengths, beam=3, nbest=3, alpha=0.7, max_len_ratio=1.0, max_len_offset=3,
                        beta=1.0)
    for i in range(5):
        for k in range(3):
            n = int(found.lengths[i, k])
            seq = found.tokens[i, k, :n].tolist()
            one = src[i:i + 1, :int(lengths[i])]
            assert float(found.scores[i, k]) == pytest.approx(
                objective(model, one, lengths[i:i + 1], seq, 0.7, "length", 1.0), abs=1e-4)
            assert float(found.log_probs[i, k]) == pytest.approx(float(model.score(one, lengths[i:i + 1],
                                                                                   torch.tensor([seq]))[0]), abs=1e-4)
    assert plain.best() != found.best()
    with pytest.raises(ConfigError, match="beta must be >= 0"):
        beam_search(model, src, lengths, beam=3, beta=-0.1)


@pytest.mark.parametrize("seed,alpha,penalty", [(0, 0.7, "length"), (1, 0.0, "length"), (2, 1.0, "gnmt"),
                                                (3, 0.7, "length"), (4, 1.5, "length")])
def test_beam_equals_exhaustive_search(seed, alpha, penalty):
    model = tiny_model(seed)
    src = torch.tensor([[4, 5, 4]])
    max_len = 4  # outputs of at most 4 tokens, EOS included: 3^0 + ... + 3^3 = 40 candidates
    expected, expected_score = exhaustive_best(model, src, max_len, alpha, penalty)
    found = beam_search(model, src, torch.tensor([3]), beam=128, alpha=alpha, penalty=penalty,
                        max_len_ratio=0.0, max_len_offset=max_len)
    assert found.best()[0] == expected
    assert float(found.scores[0, 0]) == pytest.approx(expected_score, rel=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_beam_one_is_greedy(cell):
    model = tiny_model(5, vocab=9, cell=cell)
    src = torch.randint(4, 9, (6, 7), generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([7, 6, 5, 4, 3, 2])
    greedy = greedy_search(model, src, lengths, max_len_ratio=1.0, max_len_offset=3)
    beam = beam_search(model, src, lengths, beam=1, alpha=0.0, max_len_ratio=1.0, max_len_offset=3)
    assert beam.best() == greedy.best()
    torch.testing.assert_close(beam.log_probs, greedy.log_probs)


def test_beam_search_batch_equals_one_by_one():
    """No cross-talk between the sentences of a batch (and padding does not matter)."""
    model = tiny_model(7, vocab=10)
    src = torch.randint(4, 10, (4, 6), generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([6, 3, 5, 1])
    batch = beam_search(model, src, lengths, beam=4, nbest=3, max_len_ratio=1.0, max_len_offset=4)
    for i in range(4):
        one = beam_search(model, src[i:i + 1, :int(lengths[i])], lengths[i:i + 1], beam=4, nbest=3,
                          max_len_ratio=1.0, max_len_offset=4)
        assert [h for h, _ in one.nbest()[0]] == [h for h, _ in batch.nbest()[i]]
        torch.testing.assert_close(one.scores[0], batch.scores[i], rtol=1e-5, atol=1e-5)


def test_nbest_sorted_and_scores_are_normalised_log_probs():
    model = tiny_model(8, vocab=10)
    src, lengths = torch.tensor([[4, 5, 6, 7]]), torch.tensor([4])
    found = beam_search(model, src, lengths, beam=5, nbest=5, alpha=0.7, max_len_ratio=1.0, max_len_offset=3)
    scores = found.scores[0].tolist()
    assert scores == sorted(scores, reverse=True)
    for k in range(5):
        n = int(found.lengths[0, k])
        seq = found.tokens[0, k, :n]
        assert int(seq[-1]) == EOS
        logp = float(model.score(src, lengths, seq.unsqueeze(0))[0])
        assert float(found.log_probs[0, k]) == pytest.approx(logp, abs=1e-4)
        assert scores[k] == pytest.approx(logp / n ** 0.7, abs=1e-4)


def test_maximum_length_forces_eos():
    model = tiny_model(9, vocab=10)
    src, lengths = torch.tensor([[4, 5, 6, 7, 8, 9]]), torch.tensor([6])
    for search in (lambda: greedy_search(model, src, lengths, 0.0, 2),
                   lambda: beam_search(model, src, lengths, beam=3, max_len_ratio=0.0, max_len_offset=2)):
        found = search()
        assert int(found.lengths[0, 0]) <= 2
        assert int(found.tokens[0, 0, int(found.lengths[0, 0]) - 1]) == EOS
