"""Decoding controls (issue 28): sampling with temperature, top-k and top-p, a minimum length, no repeated
n-grams, forced target prefixes and <unk> replacement, against hand-worked cases (a fake decoder with fixed
logits and attention), greedy search and exhaustive search under the same rules."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from test_attention_search import objective, tiny_model
from torch import nn

from seqlab.errors import ConfigError
from seqlab.seq2seq.sampling import draw, sampling_logits
from seqlab.seq2seq.search import (
    Decoding,
    beam_search,
    block_repeated_ngrams,
    check_decoding,
    greedy_search,
    sample_search,
    search,
)
from seqlab.seq2seq.translate import NO_OUTPUT, Translator, default_model_path
from seqlab.text.padding import length_mask
from seqlab.text.subword import BOS, EOS, UNK

NEG = float("-inf")


class TableDecoder(nn.Module):
    """A Decoder whose next-token logits are ``table[previous token]`` (V, V) and whose attention at step t
    is ``attention[t]`` over the real source positions (uniform without it): hand-worked cases."""

    def __init__(self, table: torch.Tensor, attention: torch.Tensor | None = None) -> None:
        super().__init__()
        self.table, self.rows = table, attention

    def encode(self, src, src_lengths):
        b, s = src.shape
        return torch.zeros(b, s, 1), length_mask(src_lengths, s), torch.zeros(1, b, 1)  # state: the step

    def keys(self, memory):
        return memory

    def initial_feed(self, batch, device, dtype):
        return torch.zeros(batch, 1, device=device, dtype=dtype)

    def step(self, prev, state, feed, memory, keys, mask):
        t = state[0, :, 0].long()
        if self.rows is None:
            weights = mask.float()
        else:
            weights = self.rows[t.clamp(max=self.rows.shape[0] - 1), :mask.shape[1]] * mask
        return self.table[prev], state + 1, feed, weights / weights.sum(1, keepdim=True)


def first_token_table(probs: list[float]) -> TableDecoder:
    """V = 6 (pad, unk, bos, eos, 4, 5): after BOS, EOS / 4 / 5 with ``probs``; after 4 or 5, EOS surely."""
    table = torch.full((6, 6), NEG)
    table[BOS, [EOS, 4, 5]] = torch.tensor(probs).log()
    table[:, EOS] = 0.0
    table[BOS, EOS] = math.log(probs[0])
    return TableDecoder(table)


def first_tokens(decoder, n: int, **settings) -> torch.Tensor:
    """The first token of ``n`` single samples (one sentence each) under ``settings``."""
    src, lengths = torch.full((n, 2), 4), torch.full((n,), 2)
    found = sample_search(decoder, src, lengths, Decoding(beam=1, sample=True, sample_seed=0, **settings))
    return found.tokens[:, 0, 0]


# --- the sampling distribution, by hand ------------------------------------------------------------------------

def test_sampling_logits_by_hand():
    logp = torch.tensor([[NEG, math.log(0.5), math.log(0.3), math.log(0.2)]])
    kept = lambda **kw: torch.isfinite(sampling_logits(logp, **kw))[0].tolist()  # noqa: E731
    assert kept() == [False, True, True, True]  # the forbidden token stays forbidden
    assert kept(top_k=1) == [False, True, False, False]
    assert kept(top_k=2) == [False, True, True, False]
    assert kept(top_k=10) == [False, True, True, True]
    assert kept(top_p=0.45) == [False, True, False, False]  # {0.5} already holds 0.45
    assert kept(top_p=0.55) == [False, True, True, False]  # 0.5 < 0.55 <= 0.8
    assert kept(top_p=0.85) == [False, True, True, True]
    assert kept(top_p=1e-9) == [False, True, False, False]  # always the most probable token
    tempered = torch.softmax(sampling_logits(logp, temperature=2.0), -1)[0, 1:]
    root = torch.tensor([0.5, 0.3, 0.2]).sqrt()
    torch.testing.assert_close(tempered, root / root.sum())
    for cold in (1e-30, 1e-45):  # no NaN: the best token at 0, the others far below (or at -inf)
        assert torch.softmax(sampling_logits(logp, temperature=cold), -1)[0].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_draw_follows_the_distribution():
    logits = torch.tensor([0.2, 0.5, 0.3]).log().expand(4000, 3)
    counts = torch.bincount(draw(logits, torch.Generator().manual_seed(3)), minlength=3) / 4000
    torch.testing.assert_close(counts, torch.tensor([0.2, 0.5, 0.3]), atol=0.03, rtol=0)


@pytest.mark.parametrize("settings,expected", [
    ({}, [0.2, 0.5, 0.3]),
    ({"temperature": 2.0}, [p ** 0.5 / sum(q ** 0.5 for q in (0.2, 0.5, 0.3)) for p in (0.2, 0.5, 0.3)]),
    ({"top_k": 2}, [0.0, 0.625, 0.375]),
    ({"top_p": 0.6}, [0.0, 0.625, 0.375]),
    ({"top_p": 0.4}, [0.0, 1.0, 0.0]),
    ({"temperature": 0.5, "top_k": 2}, [0.0, 25 / 34, 9 / 34]),
])
def test_sample_search_frequencies_match_the_reshaped_softmax(settings, expected):
    """4000 samples through the whole search: the first token's frequencies are the reshaped distribution's
    (EOS, 4, 5), within 0.03 (more than 4 standard deviations)."""
    tokens = first_tokens(first_token_table([0.2, 0.5, 0.3]), 4000, **settings)
    found = torch.stack([(tokens == token).float().mean() for token in (EOS, 4, 5)])
    torch.testing.assert_close(found, torch.tensor(expected), atol=0.03, rtol=0)


def test_sample_scores_are_the_models_log_probs():
    """A sample's log-probability is the model's own (not the reshaped distribution's), its score normalised."""
    decoder = first_token_table([0.2, 0.5, 0.3])
    src, lengths = torch.full((50, 2), 4), torch.full((50,), 2)
    found = sample_search(decoder, src, lengths, Decoding(beam=1, sample=True, temperature=3.0, top_k=2, alpha=1.0))
    first = found.tokens[:, 0, 0]
    expected = torch.where(first == 4, math.log(0.5), math.log(0.3))
    assert set(first.tolist()) == {4, 5}
    torch.testing.assert_close(found.log_probs[:, 0], expected)
    torch.testing.assert_close(found.scores[:, 0], expected / 2)  # two tokens with EOS, alpha 1


@pytest.mark.parametrize("settings", [{"top_k": 1}, {"top_p": 1e-6}, {"temperature": 1e-4},
                                      {"top_k": 1, "min_len": 3, "no_repeat_ngram": 2}])
def test_sampling_that_can_only_take_the_best_token_is_greedy(settings):
    model = tiny_model(5, vocab=9)
    src = torch.randint(4, 9, (6, 7), generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([7, 6, 5, 4, 3, 2])
    rules = {k: v for k, v in settings.items() if k in ("min_len", "no_repeat_ngram")}
    greedy = greedy_search(model, src, lengths, max_len_ratio=1.0, max_len_offset=3, **rules)
    sampled = sample_search(model, src, lengths, Decoding(beam=1, sample=True, alpha=0.0, max_len_ratio=1.0,
                                                          max_len_offset=3, **settings))
    assert sampled.best() == greedy.best()
    torch.testing.assert_close(sampled.log_probs, greedy.log_probs)


def test_sampling_is_seeded_and_batched():
    """The same seed and batch give the same samples, another seed others; nbest samples come best first;
    in a batch of sentences of other lengths the distribution of a sentence's samples is unchanged (its
    draws are not: all rows share one stream), and with top_k 1 its output is its output alone."""
    model = tiny_model(3, vocab=10)
    src = torch.randint(4, 10, (3, 6), generator=torch.Generator().manual_seed(4))
    lengths = torch.tensor([6, 2, 4])
    hot = Decoding(beam=8, nbest=8, sample=True, temperature=3.0, max_len_ratio=1.0, max_len_offset=3)
    one = sample_search(model, src, lengths, hot)
    assert one.best() == sample_search(model, src, lengths, hot).best()
    assert one.nbest() != sample_search(model, src, lengths, Decoding(**{**vars(hot), "sample_seed": 1})).nbest()
    for row in one.scores.tolist():
        assert row == sorted(row, reverse=True)
    greedy_like = Decoding(beam=1, sample=True, top_k=1, max_len_ratio=1.0, max_len_offset=3)
    batch = sample_search(model, src, lengths, greedy_like)
    for i in range(3):
        alone = sample_search(model, src[i:i + 1, :int(lengths[i])], lengths[i:i + 1], greedy_like)
        assert alone.best()[0] == batch.best()[i]
    table = first_token_table([0.2, 0.5, 0.3])
    src = torch.tensor([[4, 4, 4], [4, 0, 0]]).repeat(2000, 1)
    tokens = sample_search(table, src, torch.tensor([3, 1]).repeat(2000), Decoding(beam=1, sample=True)).tokens
    short = tokens[1::2, 0, 0]  # the one-token sentences, among three-token ones
    found = torch.stack([(short == token).float().mean() for token in (EOS, 4, 5)])
    torch.testing.assert_close(found, torch.tensor([0.2, 0.5, 0.3]), atol=0.04, rtol=0)


# --- minimum length and repeated n-grams ---------------------------------------------------------------------

def test_block_repeated_ngrams_by_hand():
    a, b, c = 4, 5, 6
    logp = torch.zeros(3, 8)
    history = torch.tensor([[a, b, a, c, a], [a, b, c, a, b], [c, c, c, c, c]])
    two = block_repeated_ngrams(logp, history, 2)
    assert torch.isinf(two).nonzero().tolist() == [[0, b], [0, c], [1, c], [2, c]]  # after a: b and c were seen
    three = block_repeated_ngrams(logp, history, 3)
    assert torch.isinf(three).nonzero().tolist() == [[1, c], [2, c]]  # "a b" was followed by c; "c c" by c
    one = block_repeated_ngrams(logp, history, 1)
    assert torch.isinf(one).nonzero().tolist() == [[0, a], [0, b], [0, c], [1, a], [1, b], [1, c], [2, c]]
    assert torch.equal(block_repeated_ngrams(logp, history[:, :2], 3), logp)  # no 3-gram yet


def has_repeat(seq: list[int], n: int) -> bool:
    grams = [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]
    return len(grams) != len(set(grams))


def exhaustive(model, src, max_len, alpha, penalty, allowed) -> tuple[list[int] | None, float]:
    """The best output of up to max_len tokens (EOS included) whose body passes ``allowed``."""
    tokens = [UNK, *range(EOS + 1, model.cfg.tgt_vocab)]
    best, best_score = None, -math.inf
    for length in range(max_len):
        for body in itertools.product(tokens, repeat=length):
            if allowed(list(body)):
                score = objective(model, src, torch.tensor([src.shape[1]]), [*body, EOS], alpha, penalty)
                if score > best_score:
                    best, best_score = list(body), score
    return best, best_score


@pytest.mark.parametrize("seed,alpha,rules,allowed", [
    (0, 0.7, {"min_len": 2}, lambda body: len(body) >= 2),
    (1, 0.7, {"min_len": 4}, lambda body: len(body) >= 4),
    (2, 1.5, {"no_repeat_ngram": 2}, lambda body: not has_repeat(body, 2)),
    (3, 1.5, {"no_repeat_ngram": 1}, lambda body: not has_repeat(body, 1)),
    (0, 1.5, {"no_repeat_ngram": 3}, lambda body: not has_repeat(body, 3)),
    (4, 0.7, {"min_len": 3, "no_repeat_ngram": 2}, lambda body: len(body) >= 3 and not has_repeat(body, 2)),
])
def test_beam_under_rules_equals_exhaustive_search(seed, alpha, rules, allowed):
    """Each rule changes the output here (the unconstrained best breaks it); beam search under the rule finds
    the best output that obeys it."""
    model = tiny_model(seed)
    src = torch.tensor([[4, 5, 4]])
    max_len = 5  # outputs of at most 5 tokens with EOS: 3^0 + ... + 3^4 = 121 candidates
    settings = {"beam": 128, "alpha": alpha, "max_len_ratio": 0.0, "max_len_offset": max_len}
    assert not allowed(beam_search(model, src, torch.tensor([3]), **settings).best()[0])
    expected, expected_score = exhaustive(model, src, max_len, alpha, "length", allowed)
    found = beam_search(model, src, torch.tensor([3]), **settings, **rules)
    assert found.best()[0] == expected
    assert float(found.scores[0, 0]) == pytest.approx(expected_score, rel=1e-5)


def test_rules_hold_for_every_search_and_hypothesis():
    model = tiny_model(6, vocab=7)
    src = torch.randint(4, 7, (5, 6), generator=torch.Generator().manual_seed(5))
    lengths = torch.tensor([6, 5, 3, 2, 6])
    rules = {"min_len": 4, "no_repeat_ngram": 2}
    settings = {"max_len_ratio": 1.0, "max_len_offset": 4}
    sampling = Decoding(beam=6, nbest=3, sample=True, temperature=2.0, **settings, **rules)
    results = [greedy_search(model, src, lengths, **settings, **rules),
               beam_search(model, src, lengths, beam=4, nbest=4, **settings, **rules),
               search(model, src, lengths, sampling)]
    plain = greedy_search(model, src, lengths, **settings)
    assert any(len(h) < 4 or has_repeat(h, 2) for h in plain.best())  # the rules change something
    for found in results:
        for hyps in found.nbest():
            assert hyps
            for ids, _ in hyps:
                assert len(ids) >= 4 and not has_repeat(ids, 2)


def test_no_output_obeys_the_rules():
    """min_len 5 over 3 tokens with no repeated token: nothing is possible; the search says so with no
    hypothesis (score -inf), and the translator with an error."""
    model = tiny_model(0)
    src, lengths = torch.tensor([[4, 5, 4]]), torch.tensor([3])
    rules = {"min_len": 5, "no_repeat_ngram": 1, "max_len_ratio": 0.0, "max_len_offset": 8}
    assert beam_search(model, src, lengths, beam=4, **rules).nbest() == [[]]
    assert greedy_search(model, src, lengths, **rules).nbest() == [[]]
    assert search(model, src, lengths, Decoding(beam=2, sample=True, **rules)).nbest() == [[]]
    assert "obeys the decoding rules" in NO_OUTPUT


def test_the_maximum_length_overrides_min_len():
    model = tiny_model(9, vocab=10)
    src, lengths = torch.tensor([[4, 5, 6]]), torch.tensor([3])
    for found in (greedy_search(model, src, lengths, 0.0, 3, min_len=10),
                  beam_search(model, src, lengths, beam=3, max_len_ratio=0.0, max_len_offset=3, min_len=10)):
        assert int(found.lengths[0, 0]) == 3 and torch.isfinite(found.log_probs).all()


# --- forced target prefixes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed,prefix", [(0, [5]), (1, [5, 4]), (2, [UNK, UNK, 4])])
def test_beam_with_a_prefix_equals_exhaustive_search_among_outputs_with_it(seed, prefix):
    model = tiny_model(seed)
    src = torch.tensor([[4, 5, 4]])
    expected, expected_score = exhaustive(model, src, 5, 0.7, "length", lambda body: body[:len(prefix)] == prefix)
    found = beam_search(model, src, torch.tensor([3]), beam=128, alpha=0.7, max_len_ratio=0.0, max_len_offset=5,
                        prefix=[prefix])
    assert found.best()[0] == expected
    assert float(found.scores[0, 0]) == pytest.approx(expected_score, rel=1e-5)


def test_prefixes_are_forced_and_scored_in_every_search():
    """Ragged prefixes (one empty, one longer than the maximum length): each output begins with its prefix,
    its log-probability is the model's of the whole output, and a sentence decodes as it does alone."""
    model = tiny_model(7, vocab=10)
    src = torch.randint(4, 10, (4, 6), generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([6, 3, 5, 1])
    prefixes = [[9, 9], [], [4, 5, 6, 7, 8, 9, 4, 5], [UNK]]
    settings = {"max_len_ratio": 1.0, "max_len_offset": 2}
    searches = [lambda s, n, p: greedy_search(model, s, n, prefix=p, **settings),
                lambda s, n, p: beam_search(model, s, n, beam=3, nbest=2, prefix=p, **settings),
                lambda s, n, p: search(model, s, n, Decoding(beam=1, sample=True, top_k=1, **settings), prefix=p)]
    for run in searches:
        batch = run(src, lengths, prefixes)
        for i, hyps in enumerate(batch.nbest()):
            one = src[i:i + 1, :int(lengths[i])]
            alone = run(one, lengths[i:i + 1], [prefixes[i]])
            assert [h for h, _ in alone.nbest()[0]] == [h for h, _ in hyps]
            for k, (ids, _) in enumerate(hyps):
                assert ids[:len(prefixes[i])] == prefixes[i]
                logp = float(model.score(one, lengths[i:i + 1], torch.tensor([[*ids, EOS]]))[0])
                assert float(batch.log_probs[i, k]) == pytest.approx(logp, abs=1e-4)
    with pytest.raises(ConfigError, match="special id"):
        greedy_search(model, src, lengths, prefix=[[EOS], [], [], []])


# --- attention of the chosen outputs, and <unk> replacement ---------------------------------------------------

def test_each_output_keeps_its_own_attention():
    """The attention a search returns for each hypothesis is the teacher-forced attention of that output (the
    rows travel with their beam through every reordering)."""
    model = tiny_model(11, vocab=10)
    src = torch.randint(4, 10, (3, 7), generator=torch.Generator().manual_seed(2))
    lengths = torch.tensor([7, 4, 6])
    settings = {"max_len_ratio": 1.0, "max_len_offset": 3}
    for found in (beam_search(model, src, lengths, beam=4, nbest=3, return_attention=True, **settings),
                  greedy_search(model, src, lengths, return_attention=True, **settings),
                  search(model, src, lengths, Decoding(beam=3, nbest=2, sample=True, temperature=2.0, **settings),
                         return_attention=True)):
        for i, hyps in enumerate(found.nbest()):
            one, n = src[i:i + 1, :int(lengths[i])], int(lengths[i])
            for k, (ids, _) in enumerate(hyps):
                _, weights = model(one, lengths[i:i + 1], torch.tensor([[BOS, *ids]]), return_attention=True)
                torch.testing.assert_close(found.attention[i, k, :len(ids) + 1, :n], weights[0], atol=1e-5, rtol=0)
                assert found.alignments()[i][k] == weights[0, :len(ids)].argmax(1).tolist()


def test_replace_unk_copies_the_most_attended_source_piece():
    """A fake model writes 1 <unk> 9 attending, at the <unk>, to the 5th source piece: 'ä' of '3 Mäy 1979'
    (the shipped dates model's subwords); without replace_unk the <unk> is left out."""
    shipped = Translator.load(default_model_path())
    tgt = {shipped.tgt_sp.id_to_piece(i): i for i in range(len(shipped.tgt_sp))}
    source = "3 Mäy 1979"
    pieces = shipped.src_sp.pieces(source)
    assert pieces[4] == "ä" and len(pieces) == 11
    table = torch.full((16, 16), NEG)
    table[:, EOS] = -50.0  # a finite row for the beams that are only padding of the beam at first
    table[BOS, tgt["1"]] = table[tgt["1"], UNK] = table[UNK, tgt["9"]] = table[tgt["9"], EOS] = 0.0
    attention = torch.full((4, 11), 0.01)
    attention[0, 7] = attention[1, 4] = attention[2, 8] = attention[3, 0] = 1.0
    translator = Translator(TableDecoder(table, attention), shipped.cfg, shipped.src_sp, shipped.tgt_sp,
                            shipped.device)
    for settings in ({"beam": 1}, {"beam": 3, "nbest": 1}, {"sample": True, "sample_seed": 2}):
        lines = [source, "3 may 1979"]
        assert [r.text for r in translator.translate(lines, replace_unk=True, **settings)] == ["1ä9", "1a9"]
        assert [r.text for r in translator.translate(lines, **settings)] == ["19", "19"]


def test_translator_prefixes_and_settings():
    translator = Translator.load(default_model_path())
    lines = ["3 may 1979", "12/25/1999", "tuesday 4 july 1976"]
    plain = [r.text for r in translator.translate(lines, beam=5)]
    forced = [r.text for r in translator.translate(lines, beam=5, prefixes=["", "2000", "17"])]
    assert forced[0] == plain[0] and forced[1].startswith("2000") and forced[2].startswith("17")
    assert forced[1] != plain[1]
    assert translator.translate(["1 jan 2000"], beam=5, no_repeat_ngram=3)[0].text == "2000-01-11"  # no "-01" twice
    with pytest.raises(ConfigError, match="2 target prefixes for 3 lines"):
        translator.translate(lines, prefixes=["", ""])
    sampled = translator.translate(lines * 2, sample=True, temperature=4.0, nbest=3, sample_seed=5)
    assert all(len(r.nbest) == 3 for r in sampled)  # nbest samples without a beam
    assert [r.nbest for r in sampled] == [r.nbest for r in translator.translate(lines * 2, sample=True,
                                                                                temperature=4.0, nbest=3,
                                                                                sample_seed=5)]


@pytest.mark.parametrize("settings,fragment", [
    ({"temperature": 0.0}, "temperature must be > 0"), ({"temperature": math.inf}, "temperature"),
    ({"temperature": math.nan}, "temperature"), ({"top_p": 0.0}, "top_p must be in (0, 1]"),
    ({"top_p": 1.5}, "top_p"), ({"top_p": math.nan}, "top_p"), ({"top_k": -1}, "top_k must be an integer >= 0"),
    ({"top_k": 1.5}, "top_k"), ({"min_len": -1}, "min_len must be an integer"), ({"no_repeat_ngram": -2}, "ngram"),
    ({"sample_seed": -1}, "seed"), ({"sample_seed": 2**63}, "seed"), ({"sample": "yes"}, "sample must be"),
    ({"sample": True, "beam": 2, "nbest": 3}, "nbest must be an integer in [1, beam]"),
])
def test_check_decoding_refuses_bad_controls(settings, fragment):
    with pytest.raises(ConfigError) as info:
        check_decoding(**settings)
    assert fragment in str(info.value)
    with pytest.raises(ConfigError):
        Translator.load(default_model_path()).translate(["3 may 1979"], **settings)
