"""word2vec training on gensim's Lee corpus: determinism, exact resume from a checkpoint, and a
learning test for each of sg/cbow x ns/hs that random vectors cannot pass."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from interrupt import interrupt_after

from seqlab.config import build_config
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig, train_word2vec
from seqlab.embeddings.word2vec_native import native_available
from seqlab.errors import ConfigError, DataError
from seqlab.io import load_checkpoint

LEE = gensim_test_data("lee_background.cor")
CONFIGS = [("sg", "ns"), ("sg", "hs"), ("cbow", "ns"), ("cbow", "hs")]
NATIVE_OK, NATIVE_WHY = native_available()
# the CPU kernels: word2vec.c's sequential loop in C, and batched torch steps (the GPU code)
KERNELS = [pytest.param("native", marks=pytest.mark.skipif(not NATIVE_OK, reason=f"no C kernel: {NATIVE_WHY}")),
           "torch"]


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


def small_config(**changes) -> Word2VecConfig:
    return dataclasses.replace(Word2VecConfig(dim=16, epochs=1, min_count=2, batch_size=256, lowercase=True),
                               **changes)


def test_encoded_corpus_keeps_sentences_apart(lee):
    vocab, data = lee
    assert data.raw_words == 59890 and len(vocab) == 4646  # gensim's Lee corpus, lowercased, min_count 2
    assert len(data.ids) == len(data.sentence) == int(vocab.counts.sum())
    assert np.all(np.diff(data.sentence) >= 0) and data.sentence[-1] == 299  # 300 articles, one a line
    assert data.ids.dtype == np.int32 and data.ids.max() == len(vocab) - 1


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model,loss", CONFIGS)
def test_same_seed_same_vectors(lee, model, loss, kernel):
    vocab, data = lee
    cfg = small_config(model=model, loss=loss, cpu_kernel=kernel)
    runs = []
    for seed in (1, 1, 2):
        w2v = Word2Vec(vocab, dataclasses.replace(cfg, seed=seed))
        w2v.train(data, quiet=True)
        runs.append(w2v)
    assert torch.equal(runs[0].w_in, runs[1].w_in) and torch.equal(runs[0].w_out, runs[1].w_out)
    assert not torch.equal(runs[0].w_in, runs[2].w_in)
    assert runs[0].epoch == 1 and runs[0].words_done == len(data.ids)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model,loss,stop_at", [(m, lo, 1.4) for m, lo in CONFIGS] + [("sg", "ns", 0.3)])
def test_resume_from_checkpoint_is_exact(lee, tmp_path, model, loss, stop_at, kernel):
    vocab, data = lee
    cfg = small_config(model=model, loss=loss, epochs=2, cpu_kernel=kernel)
    full = Word2Vec(vocab, cfg)
    full.train(data, quiet=True)

    ckpt = tmp_path / "w2v.ckpt"
    first = Word2Vec(vocab, dataclasses.replace(cfg, checkpoint_words=1))  # a checkpoint after every block
    stop_after = int(stop_at * len(data.ids))
    with interrupt_after(stop_after), pytest.raises(KeyboardInterrupt):
        first.train(data, quiet=True, checkpoint_path=ckpt)
    state = load_checkpoint(ckpt)
    assert state["epoch"] == int(stop_at) and state["chunk"] > 0  # stopped inside an epoch
    assert stop_after <= state["words_done"] < 2 * len(data.ids)
    assert not torch.equal(state["w_in"], full.w_in.cpu())

    resumed = Word2Vec.from_state_dict(state)
    resumed.train(data, quiet=True)
    assert torch.equal(resumed.w_in, full.w_in)
    assert torch.equal(resumed.w_out, full.w_out)
    assert resumed.epoch == 2 and resumed.words_done == full.words_done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w2v.ckpt"]  # no *.tmp left behind


def test_train_word2vec_resume_matches_an_uninterrupted_run(lee, tmp_path):
    vocab, data = lee
    cfg = small_config(epochs=2, model="cbow")
    kv_full, _ = train_word2vec(LEE, cfg, "cpu", quiet=True)

    ckpt = tmp_path / "run.ckpt"
    first = Word2Vec(vocab, dataclasses.replace(cfg, checkpoint_words=1))
    first.corpus = str(LEE.resolve())
    with interrupt_after(len(data.ids) // 2), pytest.raises(KeyboardInterrupt):
        first.train(data, quiet=True, checkpoint_path=ckpt)
    kv, stats = train_word2vec(LEE, cfg, "cpu", checkpoint_path=ckpt, resume=True, quiet=True)
    assert kv.words == kv_full.words
    assert torch.equal(kv.vectors, kv_full.vectors)
    assert stats["raw_words"] < 2 * data.raw_words  # only the rest was trained

    other = tmp_path / "other.txt"
    other.write_text("the cat sat on the mat\n", encoding="utf-8")
    with pytest.raises(DataError, match="run.ckpt: this checkpoint was made on .*lee_background.cor"):
        train_word2vec(other, cfg, "cpu", checkpoint_path=ckpt, resume=True, quiet=True)


def test_random_vectors_fail_the_learning_criterion(lee, cooccurrence_score):
    vocab, data = lee
    for seed in range(3):
        vectors = torch.rand(len(vocab), 50, generator=torch.Generator().manual_seed(seed)) - 0.5
        assert abs(cooccurrence_score(KeyedVectors(vocab.words, vectors), data)) < 0.02


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model,loss", CONFIGS)
def test_training_learns(lee, model, loss, kernel, cooccurrence_score):
    # measured with seed 1, torch kernel: sg-ns 0.19, sg-hs 0.18, cbow-ns 0.21, cbow-hs 0.14;
    # C kernel: 0.18, 0.23, 0.20, 0.13; untrained/random: < 0.01
    vocab, data = lee
    cfg = Word2VecConfig(model=model, loss=loss, dim=50, epochs=10, min_count=2, batch_size=256, lowercase=True,
                         cpu_kernel=kernel)
    w2v = Word2Vec(vocab, cfg)
    assert abs(cooccurrence_score(w2v.keyed_vectors(), data)) < 0.02  # the initial vectors do not pass
    stats = w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    assert kv.vectors.shape == (len(vocab), 50) and kv.words == vocab.words
    assert torch.isfinite(kv.vectors).all() and torch.isfinite(w2v.w_out).all()
    rows = {"ns": len(vocab), "hs": len(vocab) - 1, "hs+ns": 2 * len(vocab) - 1}[loss]
    assert w2v.w_out.shape == (rows, 50)
    assert stats["raw_words"] == pytest.approx(10 * data.raw_words)
    assert cooccurrence_score(kv, data) > 0.08


@pytest.mark.parametrize("field,value", [("model", "glove"), ("loss", "softmax"), ("loss", "NS"), ("dim", 0),
                                         ("window", 0), ("epochs", 0), ("min_count", 0), ("sample", -0.1),
                                         ("min_alpha", 0.5), ("max_row_hits", -1),
                                         ("cpu_kernel", "fast")])
def test_invalid_settings_are_config_errors(field, value):
    with pytest.raises(ConfigError, match=field):
        build_config(Word2VecConfig, **{field: value})


def test_config_file_and_overrides(tmp_path):
    path = tmp_path / "w2v.toml"
    path.write_text('[word2vec]\nmodel = "cbow"\nloss = "hs"\ndim = 40\nmin-count = 3\n', encoding="utf-8")
    cfg = build_config(Word2VecConfig, path, section="word2vec", dim=20, epochs=None)
    assert (cfg.model, cfg.loss, cfg.dim, cfg.min_count, cfg.epochs) == ("cbow", "hs", 20, 3, 5)
    path.write_text('loss = "hierarchical"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"loss must be ns, hs or hs\+ns"):
        build_config(Word2VecConfig, path, section="word2vec")


# the batched C kernel (HogBatch) exists for skip-gram with negative sampling only
needs_native = pytest.mark.skipif(not NATIVE_OK, reason=f"no C kernel: {NATIVE_WHY}")


@needs_native
def test_batched_kernel_same_seed_same_vectors(lee):
    test_same_seed_same_vectors(lee, "sg", "ns", "batched")


@needs_native
@pytest.mark.parametrize("stop_at", [0.3, 1.4])
def test_batched_kernel_resumes_exactly(lee, tmp_path, stop_at):
    test_resume_from_checkpoint_is_exact(lee, tmp_path, "sg", "ns", stop_at, "batched")


@needs_native
def test_batched_kernel_learns(lee, cooccurrence_score):
    test_training_learns(lee, "sg", "ns", "batched", cooccurrence_score)


@needs_native
@pytest.mark.parametrize(("model", "loss", "same_as"), [("sg", "ns", "batched"), ("sg", "hs", "native"),
                                                        ("cbow", "ns", "native")])
def test_the_default_cpu_kernel_is_hogbatch_for_skip_gram_with_negative_sampling(lee, model, loss, same_as):
    vocab, data = lee
    trained = {}
    for kernel in ("auto", same_as):
        w2v = Word2Vec(vocab, small_config(model=model, loss=loss, cpu_kernel=kernel))
        w2v.train(data, quiet=True)
        trained[kernel] = w2v.w_in
    assert torch.equal(trained["auto"], trained[same_as])
    assert Word2VecConfig().cpu_kernel == "auto" and Word2VecConfig().hogbatch
    assert not Word2VecConfig(cpu_kernel="native").hogbatch and not Word2VecConfig(model="cbow").hogbatch


# both objectives at once (word2vec.c's and gensim's hs=1 with negative > 0): two output tables in one
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model", ["sg", "cbow"])
def test_hs_and_ns_together_learn(lee, model, kernel, cooccurrence_score):
    test_training_learns(lee, model, "hs+ns", kernel, cooccurrence_score)


@pytest.mark.parametrize("kernel", KERNELS)
def test_hs_and_ns_together_resume_exactly(lee, tmp_path, kernel):
    test_resume_from_checkpoint_is_exact(lee, tmp_path, "sg", "hs+ns", 1.4, kernel)


def test_hs_and_ns_together_train_both_tables(lee):
    vocab, data = lee
    w2v = Word2Vec(vocab, small_config(loss="hs+ns", cpu_kernel="native" if NATIVE_OK else "torch"))
    w2v.train(data, quiet=True)
    words, nodes = w2v.w_out[: len(vocab)], w2v.w_out[len(vocab):]
    assert nodes.shape[0] == len(vocab) - 1 and w2v.hs_offset == len(vocab)
    assert (words.abs().sum(1) > 0).float().mean() > 0.9 and (nodes.abs().sum(1) > 0).float().mean() > 0.9
    assert int(w2v.points.min()) >= len(vocab)  # the Huffman paths index the nodes' rows
