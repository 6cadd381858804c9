"""The C kernel of word2vec against a plain-Python word2vec.c reference, decision by decision."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from seqlab.embeddings.huffman import build_huffman
from seqlab.embeddings.sampling import NoiseSampler, noise_distribution
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig
from seqlab.embeddings.word2vec_native import NativeTables, draw_noise, native_available, train_block
from seqlab.errors import ConfigError
from seqlab.text.vocab import Vocab

OK, WHY = native_available()
pytestmark = pytest.mark.skipif(not OK, reason=f"the C kernel is unavailable here: {WHY}")

COUNTS = np.array([50, 30, 20, 12, 9, 7, 5, 4, 3, 2, 2, 1], dtype=np.int64)
V, D, ROWS, WIDTH, K = len(COUNTS), 8, 9, 4, 3


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def reference(w_in, w_out, centre, context, alpha, sg, hs, negs, tree, loss_stride=1):
    """word2vec.c's loops in Python, float64: returns (w_in, w_out, loss, decisions, examples,
    loss_examples); the loss is summed over the rows r % loss_stride == 0."""
    w_in, w_out = w_in.double().clone(), w_out.double().clone()
    loss, decisions, examples, loss_examples, counted = 0.0, 0, 0, 0, True

    def decide(h, row, label, a, neu1e):
        nonlocal loss, decisions
        s = float(h @ w_out[row])
        if hs and abs(s) >= 6.0:
            return
        g = (label - sigmoid(s)) * a
        loss += -math.log(sigmoid(s if label else -s)) if counted else 0.0
        decisions += 1
        neu1e += g * w_out[row]
        w_out[row] += g * h

    def all_decisions(h, word, a, neg_row):
        neu1e = torch.zeros(D, dtype=torch.float64)
        if hs:
            for j in range(int(tree.lengths[word])):
                decide(h, int(tree.points[word, j]), 1.0 - float(tree.codes[word, j]), a, neu1e)
        else:
            decide(h, word, 1.0, a, neu1e)
            for n in neg_row.tolist():
                if n != word:
                    decide(h, n, 0.0, a, neu1e)
        return neu1e

    for r in range(len(centre)):
        word, a = int(centre[r]), float(alpha[r])
        counted, before = r % loss_stride == 0, examples
        ctx = [int(c) for c in context[r] if c >= 0]
        if sg:
            for j, c in enumerate(context[r].tolist()):
                if c < 0:
                    continue
                neu1e = all_decisions(w_in[c].clone(), word, a, None if hs else negs[r, j])
                w_in[c] += neu1e
                examples += 1
        elif ctx:
            h = w_in[ctx].mean(0)
            neu1e = all_decisions(h, word, a, None if hs else negs[r])
            for c in ctx:
                w_in[c] += neu1e
            examples += 1
        loss_examples += (examples - before) if counted else 0
    return w_in, w_out, loss, decisions, examples, loss_examples


def block(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    w_in = (torch.rand(V, D, generator=gen) - 0.5)
    w_out = (torch.rand(V, D, generator=gen) - 0.5)
    centre = torch.randint(0, V, (ROWS,), generator=gen)
    context = torch.randint(0, V, (ROWS, WIDTH), generator=gen)
    context[torch.rand(ROWS, WIDTH, generator=gen) < 0.3] = -1
    context[2] = -1  # a row with no context word at all
    alpha = torch.linspace(0.5, 0.1, ROWS)  # large rates: every update matters to the next one
    return w_in, w_out, centre, context, alpha


@pytest.mark.parametrize("sg", [True, False], ids=["sg", "cbow"])
@pytest.mark.parametrize("hs", [False, True], ids=["ns", "hs"])
@pytest.mark.parametrize("loss_stride", [1, 3])
def test_kernel_equals_the_sequential_reference(sg, hs, loss_stride):
    w_in, w_out, centre, context, alpha = block()
    tree = build_huffman(COUNTS)
    if hs:
        w_out = w_out[: V - 1].contiguous()
        tables = NativeTables(points=torch.as_tensor(tree.points), codes=torch.as_tensor(tree.codes),
                              lengths=torch.as_tensor(tree.lengths))
        negs = None
    else:
        sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
        tables = NativeTables(sampler.prob, sampler.alias)
        negs = torch.randint(0, V, (ROWS, WIDTH, K) if sg else (ROWS, K), generator=torch.Generator().manual_seed(5))
        negs.view(-1)[::4] = centre.repeat_interleave(negs[0].numel())[::4]  # some noise words equal the centre
    ref_in, ref_out, ref_loss, ref_decisions, ref_examples, ref_loss_examples = reference(
        w_in, w_out, centre, context, alpha, sg, hs, negs, tree, loss_stride)
    got_in, got_out = w_in.clone(), w_out.clone()
    examples, loss, loss_examples, decisions = train_block(got_in, got_out, centre, context, alpha, sg, hs, K,
                                                           tables, seed=3, threads=1, negatives=negs,
                                                           loss_stride=loss_stride)
    assert examples == ref_examples and decisions == ref_decisions and loss_examples == ref_loss_examples
    assert 0 < loss_examples <= examples and (loss_examples == examples) == (loss_stride == 1)
    assert decisions > 0 and not torch.equal(got_in, w_in) and not torch.equal(got_out, w_out)
    torch.testing.assert_close(got_in.double(), ref_in, rtol=0, atol=2e-5)
    torch.testing.assert_close(got_out.double(), ref_out, rtol=0, atol=2e-5)
    assert loss == pytest.approx(ref_loss, rel=1e-4)


def test_hs_skips_saturated_decisions():
    w_in, w_out, centre, context, alpha = block()
    tree = build_huffman(COUNTS)
    tables = NativeTables(points=torch.as_tensor(tree.points), codes=torch.as_tensor(tree.codes),
                          lengths=torch.as_tensor(tree.lengths))
    w_in = torch.ones(V, D)
    w_out = torch.ones(V - 1, D)  # every score is D = 8 >= 6
    examples, _, _, decisions = train_block(w_in, w_out, centre, context, alpha, True, True, 0, tables, 1, 1)
    assert examples > 0 and decisions == 0
    assert torch.equal(w_in, torch.ones(V, D)) and torch.equal(w_out, torch.ones(V - 1, D))


def test_kernel_noise_follows_the_unigram_power_distribution():
    sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
    tables = NativeTables(sampler.prob, sampler.alias)
    draws = torch.cat([draw_noise(4000, seed=11, row=r, tables=tables) for r in range(50)])
    freq = np.bincount(draws.numpy(), minlength=V) / len(draws)
    assert np.abs(freq - noise_distribution(COUNTS, 0.75)).max() < 0.006  # 200k draws: sd < 0.0011
    assert torch.equal(draw_noise(100, 11, 3, tables), draw_noise(100, 11, 3, tables))
    assert not torch.equal(draw_noise(100, 11, 3, tables), draw_noise(100, 11, 4, tables))


def test_kernel_draws_do_not_depend_on_the_thread_count():
    """Rows draw from their own (seed, row) streams, so one thread and two threads touch the same
    output rows (the centre words and the noise words drawn), though Hogwild orders them differently."""
    counts = np.full(40, 10)
    sampler = NoiseSampler(counts, 0.75, torch.device("cpu"))
    tables = NativeTables(sampler.prob, sampler.alias)
    gen = torch.Generator().manual_seed(0)
    w_in, w_out = torch.rand(40, D, generator=gen) - 0.5, torch.zeros(40, D)
    centre = torch.arange(8)
    context = torch.arange(8, 24).view(8, 2)
    alpha = torch.full((8,), 0.025)
    runs = []
    for threads in (1, 2):
        a, b = w_in.clone(), w_out.clone()
        train_block(a, b, centre, context, alpha, True, False, 2, tables, seed=9, threads=threads)
        runs.append(b.abs().sum(1) > 0)
    assert torch.equal(runs[0], runs[1]) and 8 < int(runs[0].sum()) < 40  # the same output rows were touched


def test_cpu_kernel_setting(monkeypatch):
    vocab = Vocab(["a", "b", "c"], np.array([3, 2, 1]), 6)
    assert Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1)).native is not None
    assert Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1, cpu_kernel="torch")).native is None
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1)).native is None  # auto falls back to torch
    with pytest.raises(ConfigError, match="cpu_kernel native: the C kernel is unavailable here .SEQLAB_NATIVE=0"):
        Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1, cpu_kernel="native"))
    with pytest.raises(ConfigError, match="cpu_kernel must be auto, native or torch"):
        Word2Vec(vocab, dataclasses.replace(Word2VecConfig(), cpu_kernel="fast"))
