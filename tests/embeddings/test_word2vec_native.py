"""The C kernel of word2vec against a plain-Python word2vec.c reference, decision by decision."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from word2vec_reference import reference, sigmoid

from seqlab import native
from seqlab.config import build_config
from seqlab.embeddings import word2vec_native
from seqlab.embeddings.huffman import build_huffman
from seqlab.embeddings.sampling import NoiseSampler, noise_distribution
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig
from seqlab.embeddings.word2vec_native import NativeTables, draw_noise, native_available, train_block
from seqlab.errors import ConfigError
from seqlab.text.vocab import Vocab

OK, WHY = native_available()
needs_kernel = pytest.mark.skipif(not OK, reason=f"the C kernel is unavailable here: {WHY}")

COUNTS = np.array([50, 30, 20, 12, 9, 7, 5, 4, 3, 2, 2, 1], dtype=np.int64)
V, D, ROWS, WIDTH, K = len(COUNTS), 8, 9, 4, 3


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


@needs_kernel
@pytest.mark.parametrize("sg", [True, False], ids=["sg", "cbow"])
@pytest.mark.parametrize("loss_kind", ["ns", "hs", "hs+ns"])
@pytest.mark.parametrize("loss_stride", [1, 3])
def test_kernel_equals_the_sequential_reference(sg, loss_kind, loss_stride, cbow_mean=True):
    w_in, w_out, centre, context, alpha = block()
    tree = build_huffman(COUNTS)
    hs, ns = loss_kind != "ns", loss_kind != "hs"
    offset = V if ns else 0  # the inner nodes' rows: after the words' with both objectives
    w_out = torch.cat([w_out, w_out[: V - 1].flip(0)]) if hs and ns else w_out if ns else w_out[: V - 1].contiguous()
    tables, negs = NativeTables(), None
    if ns:
        sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
        tables = NativeTables(sampler.prob, sampler.alias)
        negs = torch.randint(0, V, (ROWS, WIDTH, K) if sg else (ROWS, K), generator=torch.Generator().manual_seed(5))
        negs.view(-1)[::4] = centre.repeat_interleave(negs[0].numel())[::4]  # some noise words equal the centre
    if hs:
        tables.points = torch.as_tensor(tree.points) + offset
        tables.codes, tables.lengths = torch.as_tensor(tree.codes), torch.as_tensor(tree.lengths)
    ref_in, ref_out, ref_loss, ref_decisions, ref_examples, ref_loss_examples = reference(
        w_in, w_out, centre, context, alpha, sg, hs, negs, tree, loss_stride, cbow_mean, offset)
    got_in, got_out = w_in.clone(), w_out.clone()
    examples, loss, loss_examples, decisions = train_block(got_in, got_out, centre, context, alpha, sg, hs,
                                                           K if ns else 0, tables, seed=3, threads=1, negatives=negs,
                                                           loss_stride=loss_stride, cbow_mean=cbow_mean)
    assert examples == ref_examples and decisions == ref_decisions and loss_examples == ref_loss_examples
    assert 0 < loss_examples <= examples and (loss_examples == examples) == (loss_stride == 1)
    assert decisions > 0 and not torch.equal(got_in, w_in) and not torch.equal(got_out, w_out)
    torch.testing.assert_close(got_in.double(), ref_in, rtol=0, atol=2e-5)
    torch.testing.assert_close(got_out.double(), ref_out, rtol=0, atol=2e-5)
    assert loss == pytest.approx(ref_loss, rel=1e-4)


@needs_kernel
@pytest.mark.parametrize("loss_kind", ["ns", "hs"])
def test_kernel_cbow_sum_equals_the_sequential_reference(loss_kind):
    test_kernel_equals_the_sequential_reference(False, loss_kind, 1, cbow_mean=False)


@needs_kernel
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


@needs_kernel
def test_kernel_noise_follows_the_unigram_power_distribution():
    sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
    tables = NativeTables(sampler.prob, sampler.alias)
    draws = torch.cat([draw_noise(4000, seed=11, row=r, tables=tables) for r in range(50)])
    freq = np.bincount(draws.numpy(), minlength=V) / len(draws)
    assert np.abs(freq - noise_distribution(COUNTS, 0.75)).max() < 0.006  # 200k draws: sd < 0.0011
    assert torch.equal(draw_noise(100, 11, 3, tables), draw_noise(100, 11, 3, tables))
    assert not torch.equal(draw_noise(100, 11, 3, tables), draw_noise(100, 11, 4, tables))


@needs_kernel
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


@needs_kernel
def test_cpu_kernel_setting(monkeypatch):
    vocab = Vocab(["a", "b", "c"], np.array([3, 2, 1]), 6)
    assert Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1)).native is not None
    assert Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1, cpu_kernel="torch")).native is None
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1)).native is None  # auto falls back to torch
    with pytest.raises(ConfigError, match="cpu_kernel native: the C kernel is unavailable here .SEQLAB_NATIVE=0"):
        Word2Vec(vocab, Word2VecConfig(dim=4, min_count=1, cpu_kernel="native"))
    with pytest.raises(ConfigError, match="cpu_kernel must be auto, native, torch or batched"):
        Word2Vec(vocab, dataclasses.replace(Word2VecConfig(), cpu_kernel="fast"))


@pytest.fixture
def forget():
    """The loaded kernels and the fallback notices forgotten before and after the test."""
    native._load.cache_clear()
    word2vec_native.announce_fallback.cache_clear()
    yield
    native._load.cache_clear()
    word2vec_native.announce_fallback.cache_clear()


@pytest.fixture
def fresh(tmp_path, monkeypatch, forget) -> Path:
    """An empty SEQLAB_CACHE, nothing loaded yet."""
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "native"


def one_block() -> tuple[torch.Tensor, torch.Tensor, tuple[int, float, int, int]]:
    w_in, w_out, centre, context, alpha = block()
    sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
    counts = train_block(w_in, w_out, centre, context, alpha, True, False, K, NativeTables(sampler.prob, sampler.alias),
                         seed=3, threads=1)
    return w_in, w_out, counts


@needs_kernel
def test_a_truncated_cached_kernel_is_rebuilt_and_trains_the_same(tmp_path, monkeypatch, forget):
    before = one_block()  # the kernel from the usual cache
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    native._load.cache_clear()
    source = Path(native.__file__).resolve().parent / word2vec_native.SOURCE
    target = native._target(source, native._compiler())
    assert native._build(source, target, native._compiler()) == ""
    target.write_bytes(target.read_bytes()[:5000])  # as a crash or a full disk would leave it
    after = one_block()  # another path: dlopen loads the rebuilt file, not the library loaded before
    assert native._load(word2vec_native.SOURCE, word2vec_native.SYMBOLS)._name == str(target)
    assert native._verify(target) == "" and target.stat().st_size > 5000
    torch.testing.assert_close(after[0], before[0], rtol=0, atol=0)
    torch.testing.assert_close(after[1], before[1], rtol=0, atol=0)
    assert after[2][0] == before[2][0] and after[2][3] == before[2][3]


def small_vocab() -> Vocab:
    return Vocab(["a", "b", "c"], np.array([3, 2, 1]), 6)


def test_auto_says_once_why_it_falls_back_to_torch(fresh, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("SEQLAB_CACHE", str(blocker))
    for _ in range(2):
        assert Word2Vec(small_vocab(), Word2VecConfig(dim=4, min_count=1)).native is None
    err = capsys.readouterr().err
    why = ("no C compiler (install gcc, or set CC to one)" if native._compiler() is None else
           f"building word2vec_cpu.c failed: cannot write to {blocker / 'native'}: Not a directory; "
           "set SEQLAB_CACHE to a writable folder")
    assert err == (f"seqlab: the C kernel is unavailable ({why}); training with the slower torch kernel "
                   '(cpu_kernel = "torch" silences this)\n')


def test_auto_is_silent_when_the_user_switched_the_kernel_off(fresh, monkeypatch, capsys):
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert Word2Vec(small_vocab(), Word2VecConfig(dim=4, min_count=1)).native is None
    assert Word2Vec(small_vocab(), Word2VecConfig(dim=4, min_count=1, cpu_kernel="torch")).native is None
    assert capsys.readouterr().err == ""


def test_native_without_a_compiler_is_a_one_line_error(fresh, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError) as caught:
        Word2Vec(small_vocab(), Word2VecConfig(dim=4, min_count=1, cpu_kernel="native"))
    assert str(caught.value) == ("cpu_kernel native: the C kernel is unavailable here (no C compiler (install gcc, "
                                 "or set CC to one)); use cpu_kernel auto or torch")
    assert capsys.readouterr().err == ""  # an error, not a fallback notice


# ------------------------------------------------------------------ HogBatch: shared noise words per row
def batched_reference(w_in, w_out, centre, context, alpha, negs, loss_stride=1):
    """The batched update in float64, written plainly: per row, every (context word, output word)
    decision is made from the tables as they were before the row, then all the row's updates are
    added; the output words are the centre word and the row's noise words other than it."""
    w_in, w_out = w_in.double().clone(), w_out.double().clone()
    loss, decisions, examples, loss_examples = 0.0, 0, 0, 0
    for r in range(len(centre)):
        word, a = int(centre[r]), float(alpha[r])
        ins = [int(c) for c in context[r] if c >= 0]
        if not ins:
            continue
        outs = [(word, 1.0)] + [(int(n), 0.0) for n in negs[r] if int(n) != word]
        before_in, before_out = w_in.clone(), w_out.clone()
        for c in ins:
            for o, label in outs:
                s = float(before_in[c] @ before_out[o])
                g = (label - sigmoid(s)) * a
                w_in[c] += g * before_out[o]
                w_out[o] += g * before_in[c]
                if r % loss_stride == 0:
                    loss += -math.log(sigmoid(s if label else -s))
        examples += len(ins)
        decisions += len(ins) * len(outs)
        loss_examples += len(ins) if r % loss_stride == 0 else 0
    return w_in, w_out, loss, decisions, examples, loss_examples


@needs_kernel
@pytest.mark.parametrize("loss_stride", [1, 3])
def test_batched_kernel_equals_the_shared_negative_reference(loss_stride):
    w_in, w_out, centre, context, alpha = block(1)
    context[4, 1] = context[4, 0] = 3  # a context word twice in one window: both updates count
    sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
    negs = torch.randint(0, V, (ROWS, K), generator=torch.Generator().manual_seed(6))
    negs[::3, 0] = centre[::3]  # some noise words equal the centre word: dropped
    negs[1, 2] = negs[1, 1]  # a noise word drawn twice
    ref_in, ref_out, ref_loss, ref_decisions, ref_examples, ref_loss_examples = batched_reference(
        w_in, w_out, centre, context, alpha, negs, loss_stride)
    got_in, got_out = w_in.clone(), w_out.clone()
    examples, loss, loss_examples, decisions = train_block(
        got_in, got_out, centre, context, alpha, True, False, K, NativeTables(sampler.prob, sampler.alias), seed=3,
        threads=1, negatives=negs, loss_stride=loss_stride, batched=True)
    assert (examples, decisions, loss_examples) == (ref_examples, ref_decisions, ref_loss_examples)
    torch.testing.assert_close(got_in.double(), ref_in, rtol=0, atol=2e-5)
    torch.testing.assert_close(got_out.double(), ref_out, rtol=0, atol=2e-5)
    assert loss == pytest.approx(ref_loss, rel=1e-4)
    # the kernel's own draws: the same rows and decisions whatever the thread count
    runs = []
    for threads in (1, 2):
        a_in, a_out = w_in.clone(), w_out.clone()
        stats = train_block(a_in, a_out, centre, context, alpha, True, False, K,
                            NativeTables(sampler.prob, sampler.alias), seed=9, threads=threads, batched=True)
        runs.append(stats[0])
    assert runs[0] == runs[1] == ref_examples


@needs_kernel
def test_batched_kernel_is_only_for_skip_gram_with_negative_sampling():
    w_in, w_out, centre, context, alpha = block()
    sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
    with pytest.raises(ValueError, match="skip-gram with negative sampling"):
        train_block(w_in, w_out, centre, context, alpha, False, False, K, NativeTables(sampler.prob, sampler.alias),
                    seed=1, threads=1, batched=True)
    for model, loss in (("cbow", "ns"), ("sg", "hs")):
        with pytest.raises(ConfigError, match="cpu_kernel batched is skip-gram with negative sampling"):
            build_config(Word2VecConfig, model=model, loss=loss, cpu_kernel="batched")
