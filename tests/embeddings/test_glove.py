"""GloVe: the loss and its gradients against autograd (float64), the AdaGrad update against a literal
transcription of glove.c, exact resume, reuse of a saved co-occurrence matrix, and a learning test
on gensim's Lee corpus that random vectors cannot pass."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from interrupt import interrupt_after

import seqlab.embeddings.glove as glove_module
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.glove import (
    Glove,
    GloveConfig,
    count_cooccurrences,
    entry_gradients,
    glove_loss,
    train_glove,
    weighting,
)
from seqlab.embeddings.glove_native import native_available
from seqlab.embeddings.glove_native import train_block as glove_train_block
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import EncodedCorpus
from seqlab.errors import ConfigError, DataError
from seqlab.io import load_checkpoint
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import Vocab

LEE = gensim_test_data("lee_background.cor")
VOCAB = Vocab([f"w{i}" for i in range(6)], np.array([6, 5, 4, 3, 2, 1]), 21)


NATIVE_OK, NATIVE_WHY = native_available()
needs_native = pytest.mark.skipif(not NATIVE_OK, reason=f"no C kernel here: {NATIVE_WHY}")
KERNELS = [pytest.param("native", marks=needs_native), "torch"]  # glove.c's loop in C, batched torch steps


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


def random_problem(seed: int, n: int = 40, dim: int = 4, scale: float = 1.0):
    gen = torch.Generator().manual_seed(seed)
    v = len(VOCAB)
    params = [(torch.rand(v, dim, generator=gen, dtype=torch.float64) - 0.5) * scale,
              (torch.rand(v, dim, generator=gen, dtype=torch.float64) - 0.5) * scale,
              torch.rand(v, generator=gen, dtype=torch.float64) - 0.5,
              torch.rand(v, generator=gen, dtype=torch.float64) - 0.5]
    rows = torch.randint(0, v, (n,), generator=gen)  # rows and columns repeat
    cols = torch.randint(0, v, (n,), generator=gen)
    x = torch.rand(n, generator=gen, dtype=torch.float64) * 30 + 0.2
    return params, rows, cols, x


def test_weighting_function():
    x = torch.tensor([0.5, 10.0, 99.0, 100.0, 1000.0], dtype=torch.float64)
    expected = [(0.5 / 100) ** 0.75, (10 / 100) ** 0.75, (99 / 100) ** 0.75, 1.0, 1.0]
    torch.testing.assert_close(weighting(x, 100.0, 0.75), torch.tensor(expected, dtype=torch.float64))


def test_loss_is_the_papers_sum_over_nonzero_entries():
    """J/2 from the dense matrix form 0.5 * sum_ij f(X_ij) (W W~^T + b + b~^T - log X)_ij^2 over X_ij > 0."""
    (w, c, b, cb), rows, cols, x = random_problem(0)
    dense = torch.zeros(len(VOCAB), len(VOCAB), dtype=torch.float64)
    dense.index_put_((rows, cols), x, accumulate=True)
    nz = dense > 0
    r, k = nz.nonzero(as_tuple=True)
    model = w @ c.T + b[:, None] + cb[None, :] - torch.where(nz, dense, 1.0).log()
    expected = 0.5 * (weighting(dense, 100, 0.75) * model.pow(2))[nz].sum()
    got = glove_loss(w, c, b, cb, r, k, dense[r, k].log(), weighting(dense[r, k], 100, 0.75))
    torch.testing.assert_close(got, expected)


def test_gradients_against_autograd():
    params, rows, cols, x = random_problem(1)
    params = [p.requires_grad_() for p in params]
    log_x, f_x = x.log(), weighting(x, 10.0, 0.75)
    glove_loss(*params, rows, cols, log_x, f_x).backward()
    fdiff, grad_w, grad_c, _ = entry_gradients(*[p.detach() for p in params], rows, cols, log_x, f_x)
    mine = [torch.zeros_like(p).index_add_(0, idx, g)
            for p, idx, g in zip(params, (rows, cols, rows, cols), (grad_w, grad_c, fdiff, fdiff), strict=True)]
    for p, g in zip(params, mine, strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda *ps: glove_loss(*ps, rows, cols, log_x, f_x), params)


def glove_c_update(W, gradsq, dim, vocab_size, word1, word2, val, eta, x_max, alpha, clip):
    """glove.c's glove_thread body for one record (0-based words), on flat lists as in C."""
    l1 = word1 * (dim + 1)
    l2 = (word2 + vocab_size) * (dim + 1)
    diff = sum(W[b + l1] * W[b + l2] for b in range(dim)) + W[dim + l1] + W[dim + l2] - math.log(val)
    fdiff = diff if val > x_max else (val / x_max) ** alpha * diff
    cost = 0.5 * fdiff * diff
    up1, up2 = [0.0] * dim, [0.0] * dim
    for b in range(dim):
        temp1 = min(max(fdiff * W[b + l2], -clip), clip) * eta
        temp2 = min(max(fdiff * W[b + l1], -clip), clip) * eta
        up1[b] = temp1 / math.sqrt(gradsq[b + l1])
        up2[b] = temp2 / math.sqrt(gradsq[b + l2])
        gradsq[b + l1] += temp1 * temp1
        gradsq[b + l2] += temp2 * temp2
    for b in range(dim):
        W[b + l1] -= up1[b]
        W[b + l2] -= up2[b]
    W[dim + l1] -= fdiff / math.sqrt(gradsq[dim + l1])
    W[dim + l2] -= fdiff / math.sqrt(gradsq[dim + l2])
    gradsq[dim + l1] += fdiff * fdiff
    gradsq[dim + l2] += fdiff * fdiff
    return cost


def as_double(model: Glove) -> Glove:
    for name in Glove._TENSORS:
        setattr(model, name, getattr(model, name).double())
    return model


def glove_c_layout(model: Glove) -> tuple[list[float], list[float]]:
    W = torch.cat([torch.cat([model.weight, model.bias[:, None]], 1),
                   torch.cat([model.context, model.context_bias[:, None]], 1)]).flatten().tolist()
    G = torch.cat([torch.cat([model.weight_gradsq, model.bias_gradsq[:, None]], 1),
                   torch.cat([model.context_gradsq, model.context_bias_gradsq[:, None]], 1)]).flatten().tolist()
    return W, G


@pytest.mark.parametrize("clip", [100.0, 0.02])  # 0.02: most components are clipped
def test_one_entry_at_a_time_is_glove_c(clip):
    cfg = GloveConfig(dim=4, x_max=10.0, grad_clip=clip, eta=0.05)
    model = as_double(Glove(VOCAB, cfg))
    model.weight.mul_(20)  # larger vectors: bigger gradients, so clipping matters
    _, rows, cols, x = random_problem(2, n=30)
    W, G = glove_c_layout(model)
    costs = []
    for r, c, v in zip(rows.tolist(), cols.tolist(), x.tolist(), strict=True):
        costs.append(glove_c_update(W, G, 4, len(VOCAB), r, c, v, 0.05, 10.0, 0.75, clip))
    mine = [model.adagrad_step(rows[i:i + 1], cols[i:i + 1], x[i:i + 1].log(), weighting(x[i:i + 1], 10.0, 0.75))
            for i in range(len(rows))]
    W2, G2 = glove_c_layout(model)
    np.testing.assert_allclose(W2, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(G2, G, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose([float(m) for m in mine], costs, rtol=1e-10)


def test_a_batch_sums_updates_from_the_same_state_with_the_batch_squares_in_the_denominator():
    """Every entry's step is computed from the state before the batch; its AdaGrad denominator is the old
    accumulator plus the squared steps of the *other* entries of the batch in the same row (brute force)."""
    cfg = GloveConfig(dim=4, x_max=10.0)
    _, rows, cols, x = random_problem(3, n=25)
    rows[:6] = rows[0]  # make sure some rows (and columns) are shared
    cols[3:9] = cols[3]
    log_x, f_x = x.log(), weighting(x, 10.0, 0.75)
    batched = as_double(Glove(VOCAB, cfg))
    s = {n: getattr(batched, n).clone() for n in Glove._TENSORS}
    w, c = s["weight"][rows], s["context"][cols]
    fdiff = f_x * ((w * c).sum(1) + s["bias"][rows] + s["context_bias"][cols] - log_x)
    step_w = (fdiff[:, None] * c).clamp(-cfg.grad_clip, cfg.grad_clip) * cfg.eta
    step_c = (fdiff[:, None] * w).clamp(-cfg.grad_clip, cfg.grad_clip) * cfg.eta
    expected = {n: t.clone() for n, t in s.items()}
    n = len(rows)
    for i in range(n):
        same_r = [j for j in range(n) if j != i and rows[j] == rows[i]]
        same_c = [j for j in range(n) if j != i and cols[j] == cols[i]]
        den_w = (s["weight_gradsq"][rows[i]] + sum((step_w[j] ** 2 for j in same_r), torch.zeros(4))).sqrt()
        den_c = (s["context_gradsq"][cols[i]] + sum((step_c[j] ** 2 for j in same_c), torch.zeros(4))).sqrt()
        den_b = (s["bias_gradsq"][rows[i]] + sum(fdiff[j] ** 2 for j in same_r)).sqrt()
        den_cb = (s["context_bias_gradsq"][cols[i]] + sum(fdiff[j] ** 2 for j in same_c)).sqrt()
        expected["weight"][rows[i]] -= step_w[i] / den_w
        expected["context"][cols[i]] -= step_c[i] / den_c
        expected["bias"][rows[i]] -= fdiff[i] / den_b
        expected["context_bias"][cols[i]] -= fdiff[i] / den_cb
        expected["weight_gradsq"][rows[i]] += step_w[i] ** 2
        expected["context_gradsq"][cols[i]] += step_c[i] ** 2
        expected["bias_gradsq"][rows[i]] += fdiff[i] ** 2
        expected["context_bias_gradsq"][cols[i]] += fdiff[i] ** 2
    batched.adagrad_step(rows, cols, log_x, f_x)
    for name in Glove._TENSORS:
        torch.testing.assert_close(getattr(batched, name), expected[name], rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def lee_cooc():
    cfg = GloveConfig(window=5, min_count=3, lowercase=True)
    return count_cooccurrences(LEE, cfg, "cpu", quiet=True)


@pytest.mark.parametrize("kernel", KERNELS)
def test_resume_from_checkpoint_is_exact(lee_cooc, tmp_path, kernel):
    cfg = GloveConfig(dim=8, window=5, min_count=3, lowercase=True, epochs=2, batch_size=2048, x_max=10.0,
                      cpu_kernel=kernel)
    vocab = Vocab(lee_cooc.words, lee_cooc.counts, lee_cooc.total_words)
    rows, cols, values = lee_cooc.entries()
    full = Glove(vocab, cfg)
    full.train(rows, cols, values, quiet=True)
    first = Glove(vocab, dataclasses.replace(cfg, checkpoint_entries=1))  # a checkpoint after every block
    ckpt = tmp_path / "glove.ckpt"
    with interrupt_after(int(1.4 * len(rows))), pytest.raises(KeyboardInterrupt):
        first.train(rows, cols, values, quiet=True, checkpoint_path=ckpt)
    state = load_checkpoint(ckpt)
    assert state["epoch"] == 1 and state["step"] > 0 and not torch.equal(state["weight"], full.weight)
    resumed = Glove.from_state_dict(state)
    resumed.train(rows, cols, values, quiet=True)
    for name in Glove._TENSORS:
        assert torch.equal(getattr(resumed, name), getattr(full, name)), name
    with pytest.raises(DataError, match="co-occurrence matrix of"):
        Glove.from_state_dict(state).train(rows[:-1], cols[:-1], values[:-1], quiet=True)


def test_saved_cooccurrences_are_reused_only_with_the_same_settings(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 5, encoding="utf-8")
    cfg = GloveConfig(dim=5, window=3, min_count=1, epochs=2)
    kv1, stats = train_glove(corpus, cfg, "cpu", quiet=True, cooc_path=tmp_path / "x.cooc")
    assert (tmp_path / "x.cooc").exists() and stats["nnz"] > 0
    corpus.write_text("something else entirely\n", encoding="utf-8")  # the saved matrix is what is used
    kv2, _ = train_glove(corpus, cfg, "cpu", quiet=True, cooc_path=tmp_path / "x.cooc")
    assert kv2.words == kv1.words and torch.equal(kv2.vectors, kv1.vectors)
    with pytest.raises(DataError, match="counted with window = 3, not 4; delete it"):
        train_glove(corpus, dataclasses.replace(cfg, window=4), "cpu", quiet=True, cooc_path=tmp_path / "x.cooc")


def test_word_only_output(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d a b c d a c\n", encoding="utf-8")
    cfg = GloveConfig(dim=3, window=2, min_count=1, epochs=1, word_only=True)
    kv, _ = train_glove(corpus, cfg, "cpu", quiet=True)
    cfg_sum = dataclasses.replace(cfg, word_only=False)
    kv_sum, _ = train_glove(corpus, cfg_sum, "cpu", quiet=True)
    assert not torch.equal(kv.vectors, kv_sum.vectors)
    model = Glove(Vocab(kv.words, kv.counts, 10), cfg)  # same seed: same initial tables
    assert kv.vectors.shape == model.weight.shape


@pytest.mark.parametrize("kernel", KERNELS)
def test_glove_on_lee_beats_random_vectors(lee_cooc, cooccurrence_score, kernel):
    cfg = GloveConfig(dim=30, window=5, min_count=3, lowercase=True, epochs=10, x_max=10.0, batch_size=1024,
                      cpu_kernel=kernel)
    vocab = Vocab(lee_cooc.words, lee_cooc.counts, lee_cooc.total_words)
    model = Glove(vocab, cfg)
    stats = model.train(*lee_cooc.entries(), quiet=True)
    kv = model.keyed_vectors()
    data = EncodedCorpus.encode(Corpus(str(LEE), lowercase=True), vocab)
    rng = np.random.default_rng(0)
    random = KeyedVectors(kv.words, rng.standard_normal(tuple(kv.vectors.shape)).astype(np.float32))
    trained_score, random_score = cooccurrence_score(kv, data), cooccurrence_score(random, data)
    assert abs(random_score) < 0.02
    assert trained_score > 0.15, (trained_score, stats)
    assert stats["loss"] < 0.05  # J/2 per entry, from about 1.1 at the start


# ------------------------------------------------------------------------------ the C kernel


@needs_native
@pytest.mark.parametrize("clip", [100.0, 0.02])
def test_native_kernel_is_glove_c(clip):
    """Entry after entry, the C kernel (float32) does what the transcription of glove.c does (float64)."""
    cfg = GloveConfig(dim=4, x_max=10.0, grad_clip=clip, eta=0.05, cpu_kernel="native")
    model = Glove(VOCAB, cfg)
    model.weight.mul_(20)
    _, rows, cols, x = random_problem(2, n=30)
    W, G = glove_c_layout(model)
    costs = [glove_c_update(W, G, 4, len(VOCAB), r, c, v, 0.05, 10.0, 0.75, clip)
             for r, c, v in zip(rows.tolist(), cols.tolist(), x.tolist(), strict=True)]
    log_x, f_x = x.log().float(), weighting(x, 10.0, 0.75).float()
    cost = glove_train_block(model._tables(), rows, cols, log_x, f_x, torch.arange(len(rows)), 0.05, clip, 1)
    W2, G2 = glove_c_layout(model)
    np.testing.assert_allclose(W2, W, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(G2, G, rtol=1e-4, atol=1e-6)
    assert cost == pytest.approx(sum(costs), rel=1e-4)


@needs_native
def test_native_training_equals_the_torch_steps_of_one_entry(lee_cooc):
    """On one thread, training with the C kernel is the torch path with batch_size 1, update by update
    (same initial tables, same permutation of the entries)."""
    cfg = GloveConfig(dim=8, window=5, min_count=3, lowercase=True, epochs=1, batch_size=1, x_max=10.0)
    vocab = Vocab(lee_cooc.words, lee_cooc.counts, lee_cooc.total_words)
    rows, cols, values = (t[:3000] for t in lee_cooc.entries())
    native = Glove(vocab, dataclasses.replace(cfg, cpu_kernel="native"))
    torch_steps = Glove(vocab, dataclasses.replace(cfg, cpu_kernel="torch"))
    assert native.native and not torch_steps.native
    a, b = native.train(rows, cols, values, quiet=True), torch_steps.train(rows, cols, values, quiet=True)
    for name in Glove._TENSORS:
        torch.testing.assert_close(getattr(native, name), getattr(torch_steps, name), rtol=1e-4, atol=1e-6)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)


def test_native_kernel_asked_for_but_unavailable(monkeypatch):
    monkeypatch.setattr(glove_module, "native_available", lambda: (False, "no compiler"))
    with pytest.raises(ConfigError, match="cpu_kernel native: the C kernel is unavailable here .no compiler"):
        Glove(VOCAB, GloveConfig(cpu_kernel="native"))
    assert not Glove(VOCAB, GloveConfig(cpu_kernel="auto")).native  # auto falls back to the torch steps
    monkeypatch.setattr(glove_module, "cooccur_native_available", lambda: (False, "no compiler"))
    with pytest.raises(ConfigError, match="cpu_kernel native: the C kernel is unavailable"):  # before any reading
        count_cooccurrences("/nonexistent/corpus.txt", GloveConfig(cpu_kernel="native"), "cpu", quiet=True)


def test_model_says_what_is_output_as_glove_c_model():
    cfg = GloveConfig(dim=3, seed=4)
    glove = Glove(VOCAB, cfg)  # the same seed gives every model below the same tables
    w, c, b, bc = glove.weight, glove.context, glove.bias[:, None], glove.context_bias[:, None]
    outputs = {model: Glove(VOCAB, dataclasses.replace(cfg, model=model)).keyed_vectors() for model in (0, 1, 2)}
    assert torch.equal(outputs[2].vectors, w + c) and torch.equal(outputs[1].vectors, w)
    assert torch.equal(outputs[0].vectors, torch.cat([w, b, c, bc], dim=1))  # glove.c: w_1..w_D b w~_1..w~_D b~
    assert outputs[0].words == VOCAB.words and outputs[0].counts.tolist() == VOCAB.counts.tolist()
    word_only = Glove(VOCAB, dataclasses.replace(cfg, word_only=True)).keyed_vectors()
    assert torch.equal(word_only.vectors, outputs[1].vectors)
    assert dataclasses.replace(cfg, word_only=True, model=1).output_model == 1
    with pytest.raises(ConfigError, match="word_only .model 1. and model 0 contradict"):
        dataclasses.replace(cfg, word_only=True, model=0).validate()
    with pytest.raises(ConfigError, match="model must be 0, 1 or 2 .glove.c's -model., got 3"):
        dataclasses.replace(cfg, model=3).validate()
