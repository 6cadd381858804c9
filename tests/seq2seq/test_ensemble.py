"""Ensemble decoding: the averaged distribution, packing of different members, and search over it."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from seqlab.seq2seq.ensemble import Ensemble
from seqlab.seq2seq.model import ModelConfig, Seq2Seq, map_state
from seqlab.seq2seq.search import beam_search, greedy_search, length_penalty
from seqlab.text.subword import BOS, EOS, UNK

VOCAB = 7


def member(seed: int, cell: str, hidden: int, attention: str) -> Seq2Seq:
    torch.manual_seed(seed)
    model = Seq2Seq(ModelConfig(src_vocab=VOCAB, tgt_vocab=VOCAB, cell=cell, emb_dim=6, hidden_size=hidden,
                                enc_layers=1, dec_layers=2 if cell == "lstm" else 1, dropout=0.0,
                                attention=attention))
    with torch.no_grad():  # spread the output distribution so that search choices matter
        model.out.weight.mul_(4.0)
    return model.eval()


def members() -> list[Seq2Seq]:
    """Different cells (state arity 1 and 2), sizes and attention kinds (general and additive)."""
    return [member(0, "gru", 8, "general"), member(1, "lstm", 6, "general"), member(2, "gru", 5, "additive")]


SRC = torch.tensor([[4, 5, 6, 4], [6, 4, 0, 0], [5, 5, 5, 0]])
LENGTHS = torch.tensor([4, 2, 3])


@torch.no_grad()
def test_step_averages_the_members_probabilities():
    """Decoding three steps by hand: the ensemble's log-probabilities are log((1/M) sum_m p_m) and its
    attention weights the members' mean, with each member fed its own state and attentional vector."""
    models = members()
    ensemble = Ensemble(models).eval()
    memory, mask, state = ensemble.encode(SRC, LENGTHS)
    keys = ensemble.keys(memory)
    feed = ensemble.initial_feed(3, SRC.device, memory.dtype)
    singles = []
    for m in models:
        mem, msk, st = m.encode(SRC, LENGTHS)
        singles.append([st, m.initial_feed(3, SRC.device, mem.dtype), mem, m.keys(mem), msk])
    prev = torch.full((3,), BOS)
    for token in ([4, 5, 6], [6, 6, 4], [5, 4, 4]):
        logp, state, feed, weights = ensemble.step(prev, state, feed, memory, keys, mask)
        probs, attention = [], []
        for single, m in zip(singles, models, strict=True):
            logits, single[0], single[1], w = m.step(prev, single[0], single[1], single[2], single[3], single[4])
            probs.append(torch.softmax(logits, -1))
            attention.append(w)
        torch.testing.assert_close(logp, torch.stack(probs).mean(0).log())
        torch.testing.assert_close(weights, torch.stack(attention).mean(0))
        torch.testing.assert_close(weights.sum(1), torch.ones(3))
        prev = torch.tensor(token)
    assert len(state) == 4  # gru h, lstm (h, c), gru h: one flat tuple with the batch in dimension 1
    assert all(s.shape[1] == 3 for s in state)


@torch.no_grad()
def test_score_is_the_sum_of_averaged_log_probabilities():
    models = members()
    ensemble = Ensemble(models).eval()
    tgt = torch.tensor([[4, 5, EOS], [6, EOS, 0], [EOS, 0, 0]])
    got = ensemble.score(SRC, LENGTHS, tgt)
    bos = torch.full((3, 1), BOS)
    tgt_in = torch.cat([bos, tgt[:, :-1]], 1)
    probs = torch.stack([torch.softmax(m(SRC, LENGTHS, tgt_in)[0], -1) for m in models]).mean(0)
    token_logp = probs.log().gather(2, tgt.unsqueeze(2)).squeeze(2) * (tgt != 0)
    torch.testing.assert_close(got, token_logp.sum(1))
    _, attention = ensemble(SRC, LENGTHS, tgt_in, return_attention=True)
    torch.testing.assert_close(attention.sum(-1), torch.ones(3, 3))
    with pytest.raises(ValueError, match="teacher_forcing"):
        ensemble(SRC, LENGTHS, tgt_in, teacher_forcing=0.5)


@torch.no_grad()
def test_an_ensemble_of_one_decodes_as_its_model():
    model = members()[1]
    alone = beam_search(model, SRC, LENGTHS, beam=3, nbest=2, max_len_ratio=1.0, max_len_offset=3)
    wrapped = beam_search(Ensemble([model]), SRC, LENGTHS, beam=3, nbest=2, max_len_ratio=1.0, max_len_offset=3)
    assert wrapped.nbest() != [] and [[h for h, _ in n] for n in wrapped.nbest()] == \
        [[h for h, _ in n] for n in alone.nbest()]
    torch.testing.assert_close(wrapped.scores, alone.scores)


@torch.no_grad()
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_ensemble_beam_equals_exhaustive_search(alpha):
    """Beam search over the ensemble finds the output that maximises its own normalised score,
    sentence by sentence inside one batch (so the packed states are reordered right)."""
    ensemble = Ensemble(members()).eval()
    max_len = 4
    found = beam_search(ensemble, SRC, LENGTHS, beam=64, alpha=alpha, max_len_ratio=0.0, max_len_offset=max_len)
    for i in range(SRC.shape[0]):
        src = SRC[i:i + 1, :int(LENGTHS[i])]
        best, best_score = None, -math.inf
        for length in range(max_len):
            for body in itertools.product([UNK, *range(EOS + 1, VOCAB)], repeat=length):
                seq = [*body, EOS]
                logp = float(ensemble.score(src, LENGTHS[i:i + 1], torch.tensor([seq]))[0])
                score = logp / float(length_penalty(torch.tensor(len(seq)), alpha))
                if score > best_score:
                    best, best_score = list(body), score
        assert found.best()[i] == best
        assert float(found.scores[i, 0]) == pytest.approx(best_score, rel=1e-5)
    greedy = greedy_search(ensemble, SRC, LENGTHS, max_len_ratio=0.0, max_len_offset=max_len)
    one = beam_search(ensemble, SRC, LENGTHS, beam=1, alpha=0.0, max_len_ratio=0.0, max_len_offset=max_len)
    assert greedy.best() == one.best()


def test_members_must_share_the_vocabularies():
    other = Seq2Seq(ModelConfig(src_vocab=VOCAB, tgt_vocab=VOCAB + 1, emb_dim=4, hidden_size=4, enc_layers=1))
    with pytest.raises(ValueError, match="different vocabulary sizes"):
        Ensemble([members()[0], other])
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])
    state = Ensemble(members())._flatten([torch.zeros(1, 2, 8), (torch.zeros(2, 2, 6), torch.ones(2, 2, 6)),
                                         torch.zeros(1, 2, 5)])
    moved = map_state(state, lambda s: s.index_select(1, torch.tensor([1, 1, 0])))
    assert [s.shape[1] for s in moved] == [3, 3, 3, 3]
