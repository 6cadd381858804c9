"""word2vec and GloVe against hostile settings and corpora, through the library: absurd or non-finite
settings refused by validate(), tables too big for the memory refused before they are allocated,
divergence stopped before anything is saved, and the corpus streamed (ids in a temporary file,
subsampled in bounded segments) with exactly the vectors of a whole-corpus pass."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading

import numpy as np
import pytest
import torch
from interrupt import interrupt_after

from seqlab.embeddings import limits
from seqlab.embeddings import word2vec as word2vec_module
from seqlab.embeddings.cooccurrence import count_encoded_pairs, count_pairs
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.glove import Glove, GloveConfig, train_glove
from seqlab.embeddings.sampling import KeptTokens
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig, train_word2vec
from seqlab.embeddings.word2vec_native import native_available
from seqlab.errors import ConfigError, DataError, DivergedError
from seqlab.memory import format_bytes
from seqlab.text import vocab as vocab_module
from seqlab.text.vocab import EncodedCorpus, Vocab

LEE = gensim_test_data("lee_background.cor")
NATIVE_OK, NATIVE_WHY = native_available()
KERNELS = [pytest.param("native", marks=pytest.mark.skipif(not NATIVE_OK, reason=f"no C kernel: {NATIVE_WHY}")),
           "torch"]


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


def small(**changes) -> Word2VecConfig:
    return dataclasses.replace(Word2VecConfig(dim=16, epochs=1, min_count=2, batch_size=64, lowercase=True),
                               **changes)


# ---------------------------------------------------------------------------------- settings
W2V_BAD = [
    ("window", 100_000, "window must be at most 1,000, got 100,000"),
    ("negative", 10_000, "negative must be at most 100, got 10,000"),
    ("epochs", 1_000_000, "epochs must be at most 10,000"),
    ("batch_size", 10_000_000, "batch_size must be at most 65,536"),
    ("max_sentence_length", 10**9, "max_sentence_length must be at most 1,000,000"),
    ("seed", 2**62, "seed must be between"),
    ("ns_exponent", 1e6, "|ns_exponent| must be at most 10"),
    ("alpha", float("inf"), "alpha must be a finite number, got inf"),
    ("alpha", float("nan"), "alpha must be a finite number, got nan"),
    ("min_alpha", float("nan"), "min_alpha must be a finite number"),
    ("sample", float("nan"), "sample must be a finite number"),
    ("ns_exponent", float("-inf"), "ns_exponent must be a finite number"),
    ("checkpoint_minutes", float("nan"), "checkpoint_minutes must be a finite number"),
    ("checkpoint_words", -1, "checkpoint_words must be >= 0"),
]
GLOVE_BAD = [
    ("window", 100_000, "window must be at most 1,000"),
    ("epochs", 1_000_000, "epochs must be at most 10,000"),
    ("batch_size", 10**8, "batch_size must be at most 1,048,576"),
    ("x_max", float("inf"), "x_max must be a finite number"),
    ("x_max", float("nan"), "x_max must be a finite number"),
    ("alpha", float("nan"), "alpha must be a finite number"),
    ("eta", float("inf"), "eta must be a finite number"),
    ("grad_clip", float("inf"), "grad_clip must be a finite number"),
    ("checkpoint_entries", -5, "checkpoint_entries must be >= 0"),
    ("max_sentence_length", 10**9, "max_sentence_length must be at most 1,000,000"),
]


@pytest.mark.parametrize("field,value,message", W2V_BAD)
def test_word2vec_refuses_absurd_and_non_finite_settings(field, value, message):
    with pytest.raises(ConfigError) as caught:
        Word2VecConfig(**{field: value}).validate()
    assert message in str(caught.value)


@pytest.mark.parametrize("field,value,message", GLOVE_BAD)
def test_glove_refuses_absurd_and_non_finite_settings(field, value, message):
    with pytest.raises(ConfigError) as caught:
        GloveConfig(**{field: value}).validate()
    assert message in str(caught.value)


def test_the_bounds_leave_real_settings_alone():
    Word2VecConfig(window=50, negative=25, epochs=100, batch_size=32768, ns_exponent=-0.5, seed=2**32).validate()
    Word2VecConfig(loss="hs", negative=1_000_000).validate()  # negative is not used by hierarchical softmax
    GloveConfig(window=100, epochs=100, batch_size=1 << 18, alpha=1.0, x_max=10.0).validate()


def test_counting_chunks_shrink_for_wide_windows():
    cpu = torch.device("cpu")
    assert GloveConfig(window=15).chunk_for(cpu) == 1 << 18  # the default is unchanged
    assert GloveConfig(window=1000).chunk_for(cpu) == (1 << 23) // 1000


# -------------------------------------------------------------------------------------- memory
@pytest.fixture
def little_memory(monkeypatch):
    """This machine has 1 MiB free, as far as the trainers can tell."""
    monkeypatch.setattr(limits, "available_bytes", lambda device: 1 << 20)


def test_word2vec_tables_that_cannot_fit_are_refused_before_allocation(little_memory):
    vocab = Vocab([f"w{i}" for i in range(12)], np.arange(12, 0, -1), 78)
    with pytest.raises(ConfigError) as caught:
        Word2Vec(vocab, Word2VecConfig(dim=100_000, batch_size=1))
    assert str(caught.value) == ("dim 100,000 x vocabulary 12 x 3 tables (input, output, and the vectors returned) "
                                 f"x 4 bytes = {format_bytes(100_000 * 12 * 3 * 4)}, more than the "
                                 f"{format_bytes(1 << 20)} of memory available; lower --dim or --max-vocab (or raise "
                                 "--min-count)")
    Word2Vec(vocab, Word2VecConfig(dim=100, batch_size=1))  # 14 kB of tables and 13 kB of windows fit


def test_word2vec_windows_that_cannot_fit_are_refused(little_memory):
    vocab = Vocab([f"w{i}" for i in range(12)], np.arange(12, 0, -1), 78)
    with pytest.raises(ConfigError) as caught:
        Word2Vec(vocab, Word2VecConfig(dim=10, batch_size=65536, window=1000))
    assert str(caught.value).startswith("batch_size 65,536 x 32 steps x 2 x window 1,000 context slots x 40 bytes = ")
    assert str(caught.value).endswith("of memory available; lower --batch-size or --window")


def test_glove_tables_that_cannot_fit_are_refused_before_allocation(little_memory):
    vocab = Vocab([f"w{i}" for i in range(12)], np.arange(12, 0, -1), 78)
    with pytest.raises(ConfigError, match=r"^dim 10,000 x vocabulary 12 x 5 tables \(w, w~, their AdaGrad sums"):
        Glove(vocab, GloveConfig(dim=10_000, batch_size=1))
    # a step takes at most the 12 x 12 entries of X, 144 x 1,000 x 40 bytes = 5.5 MiB
    with pytest.raises(ConfigError, match=r"\+ batch_size 144 x dim 1,000 x 40 bytes of step temporaries = .*lower "
                                          r"--batch-size or --dim$"):
        Glove(vocab, GloveConfig(dim=1000))
    Glove(vocab, GloveConfig(dim=1000, batch_size=16))


def test_available_memory_is_known_on_linux():
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo")
    assert limits.available_bytes(torch.device("cpu")) > 0


# ---------------------------------------------------------------------------------- divergence
@pytest.mark.parametrize("kernel", KERNELS)
def test_word2vec_stops_at_a_non_finite_loss(lee, kernel, tmp_path):
    vocab, data = lee
    model = Word2Vec(vocab, small(alpha=100.0, epochs=5, cpu_kernel=kernel))
    ckpt = tmp_path / "w2v.ckpt"
    with pytest.raises(DivergedError) as caught:
        model.train(data, quiet=True, checkpoint_path=ckpt)
    message = str(caught.value)
    assert message.startswith("training diverged: the loss became NaN or infinite in epoch ")
    assert "(after " in message and "no checkpoint was written" in message and "--alpha, now 100" in message
    assert "\n" not in message and not ckpt.exists()


def good_checkpoint(model, data, ckpt, stop_after: int) -> bytes:
    with interrupt_after(stop_after), pytest.raises(KeyboardInterrupt):
        model.train(data, quiet=True, checkpoint_path=ckpt)
    return ckpt.read_bytes()


@pytest.mark.parametrize("kernel", KERNELS)
def test_word2vec_keeps_the_last_finite_checkpoint(lee, kernel, tmp_path):
    vocab, data = lee
    model = Word2Vec(vocab, small(epochs=2, cpu_kernel=kernel, checkpoint_words=1))
    ckpt = tmp_path / "w2v.ckpt"
    before = good_checkpoint(model, data, ckpt, len(data.ids) // 2)
    with torch.no_grad():
        model.w_in[0] = float("nan")  # the most frequent word: the next block's loss is NaN
    with pytest.raises(DivergedError, match=rf"the last finite checkpoint is {ckpt}"):
        model.train(data, quiet=True, checkpoint_path=ckpt)
    assert ckpt.read_bytes() == before


def test_word2vec_never_returns_non_finite_vectors(lee):
    vocab, data = lee
    # the last word occurs once in the corpus: cut it out of the data, so no loss ever sees its row
    last = len(vocab) - 1
    keep = np.asarray(data.ids) != last
    sentence = data.sentence[keep]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sentence)) + 1, [int(keep.sum())]])
    trimmed = EncodedCorpus(np.asarray(data.ids)[keep], starts, data.raw_words)
    model = Word2Vec(vocab, small(loss="hs", cpu_kernel="torch"))
    with torch.no_grad():
        model.w_in[last] = float("inf")
    with pytest.raises(DivergedError, match="the weights became NaN or infinite by the end of training"):
        model.train(trimmed, quiet=True)


def test_glove_stops_at_a_non_finite_cost_and_keeps_its_checkpoint(tmp_path):
    cfg = GloveConfig(dim=8, window=5, min_count=2, epochs=3, lowercase=True, batch_size=512, checkpoint_entries=1)
    ckpt = tmp_path / "glove.ckpt"
    with pytest.raises(DivergedError) as caught:  # batched steps overflow at eta 100 (glove.c's loop, the
        # native kernel, only explodes: see the next test); the NaN below reaches both kernels
        train_glove(LEE, dataclasses.replace(cfg, eta=100.0, cpu_kernel="torch"), "cpu", checkpoint_path=ckpt,
                    quiet=True)
    assert str(caught.value).startswith("training diverged: the cost became NaN or infinite in epoch 1 (after ")
    assert "--eta, now 100" in str(caught.value) and not ckpt.exists()

    from seqlab.embeddings.glove import count_cooccurrences
    cooc = count_cooccurrences(LEE, cfg, "cpu", quiet=True)
    rows, cols, values = cooc.entries()
    model = Glove(Vocab(cooc.words, cooc.counts, cooc.total_words), cfg)
    with interrupt_after(len(rows)), pytest.raises(KeyboardInterrupt):
        model.train(rows, cols, values, quiet=True, checkpoint_path=ckpt)
    before = ckpt.read_bytes()
    with torch.no_grad():
        model.bias[:] = float("nan")
    with pytest.raises(DivergedError, match=rf"the cost became NaN or infinite .*the last finite checkpoint is {ckpt}"):
        model.train(rows, cols, values, quiet=True, checkpoint_path=ckpt)
    assert ckpt.read_bytes() == before


@pytest.mark.parametrize("kernel", KERNELS)
def test_glove_stops_when_its_cost_explodes_while_finite(tmp_path, kernel):
    # at eta 1 AdaGrad's first steps are too big: the cost grows ten-thousandfold (glove.c's loop keeps
    # every weight finite) and the model, useless, must not be saved
    cfg = GloveConfig(dim=8, window=5, min_count=2, epochs=3, lowercase=True, eta=1.0, cpu_kernel=kernel,
                      checkpoint_entries=1)
    ckpt = tmp_path / "glove.ckpt"
    with pytest.raises(DivergedError) as caught:
        train_glove(LEE, cfg, "cpu", checkpoint_path=ckpt, quiet=True)
    message = str(caught.value)
    assert message.startswith("training diverged: the cost exploded to ") and "in epoch 1 (after " in message
    assert "(over 100; an untrained model's cost is 0.0248 per entry)" in message
    assert "--eta, now 1)" in message and not ckpt.exists()
    _, stats = train_glove(LEE, dataclasses.replace(cfg, eta=0.05), "cpu", quiet=True)
    assert stats["loss"] < 0.0248  # the same corpus at glove.c's rate trains below the untrained cost


def test_the_untrained_cost_is_the_cost_of_zero_vectors():
    from seqlab.embeddings.glove import untrained_cost, weighting

    values = torch.tensor([1.0, 3.0, 50.0, 250.0], dtype=torch.float64)
    log_x, f_x = values.log().float(), weighting(values, 100.0, 0.75).float()
    by_hand = 0.5 * float((f_x.double() * log_x.double() ** 2).mean())
    assert untrained_cost(log_x, f_x) == pytest.approx(by_hand, rel=1e-12)
    assert untrained_cost(log_x, f_x, chunk=3) == pytest.approx(by_hand, rel=1e-12)
    model = Glove(Vocab(list("abcd"), np.array([9, 9, 9, 9]), 36), GloveConfig(dim=4))
    for table in model._tables()[:4]:
        table.zero_()
    rows = cols = torch.arange(4)
    cost = model.adagrad_step(rows, cols, log_x, f_x)  # the cost before the step's update
    assert float(cost) / 4 == pytest.approx(by_hand, rel=1e-6)


# ------------------------------------------------------------------------------ a streamed corpus
def test_encoded_corpus_lives_in_an_unnamed_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(vocab_module, "SPILL_ITEMS", 5)
    monkeypatch.setattr(vocab_module, "SPILL_PIECES", 3)
    vocab = Vocab(["a", "b", "c"], np.array([5, 3, 1]), 12)
    sentences = [["a", "b"], ["x", "y"], ["c"], ["a", "a", "b", "x", "c"], [], ["b"], ["a", "a"]]
    data = EncodedCorpus.encode(sentences, vocab, directory=tmp_path)
    assert isinstance(data.ids, np.memmap) and isinstance(data.starts, np.memmap)
    assert data.ids.tolist() == [0, 1, 2, 0, 0, 1, 2, 1, 0, 0] and data.ids.dtype == np.int32
    assert data.starts.tolist() == [0, 2, 3, 7, 8, 10]  # one offset per sentence that keeps a word
    assert data.sentence.tolist() == [0, 0, 1, 2, 2, 2, 2, 3, 4, 4]
    assert data.sentence_of(np.array([0, 2, 9])).tolist() == [0, 1, 4]
    assert data.raw_words == 13
    assert list(tmp_path.iterdir()) == []  # nothing to clean up, even after a crash


def test_a_full_disk_while_encoding_is_one_error(tmp_path, monkeypatch):
    class Full:
        def write(self, data):
            raise OSError(28, "No space left on device")

        def close(self):
            pass

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kwargs: Full())
    vocab = Vocab(["a"], np.array([3]), 3)
    with pytest.raises(DataError, match=rf"cannot write the encoded corpus to a temporary file in {tmp_path} "
                                        r"\(No space left on device\)"):
        EncodedCorpus.encode([["a", "a", "a"]], vocab, directory=tmp_path)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model,loss", [("sg", "ns"), ("cbow", "hs")])
def test_segments_of_any_size_give_the_vectors_of_one_pass(lee, kernel, model, loss, monkeypatch):
    vocab, data = lee
    cfg = small(model=model, loss=loss, cpu_kernel=kernel, epochs=2)
    whole = Word2Vec(vocab, cfg)
    monkeypatch.setattr(word2vec_module, "SEGMENT_TOKENS", len(data.ids))
    whole.train(data, quiet=True)
    pieces = Word2Vec(vocab, cfg)
    monkeypatch.setattr(word2vec_module, "SEGMENT_TOKENS", 97)
    pieces.train(data, quiet=True)
    assert torch.equal(whole.w_in, pieces.w_in) and torch.equal(whole.w_out, pieces.w_out)


def test_the_kept_tokens_buffer_stays_bounded(lee, monkeypatch):
    vocab, data = lee
    sizes: list[int] = []
    fill = KeptTokens.fill

    def recording_fill(self, keep_from, upto):
        fill(self, keep_from, upto)
        sizes.append(len(self.ids))

    monkeypatch.setattr(KeptTokens, "fill", recording_fill)
    monkeypatch.setattr(word2vec_module, "SEGMENT_TOKENS", 500)
    cfg = small(batch_size=16, cpu_kernel="torch", sample=0.0)  # blocks of 512 centre words
    Word2Vec(vocab, cfg).train(data, quiet=True)
    assert len(sizes) > 50
    assert max(sizes) <= 512 + 2 * cfg.window + 500 < len(data.ids) // 50


def test_streamed_counting_equals_counting_the_whole_corpus(lee):
    vocab, data = lee
    ids, line = torch.as_tensor(np.asarray(data.ids)), torch.as_tensor(data.sentence)
    for chunk in (7, 1000):
        keys, sums = count_pairs(ids, line, len(vocab), 6, True, chunk)
        streamed_keys, streamed_sums = count_encoded_pairs(data, len(vocab), 6, True, chunk)
        assert torch.equal(keys, streamed_keys) and torch.equal(sums, streamed_sums)


def test_a_corpus_on_a_pipe_trains_like_the_file(tmp_path):
    cfg = small(cpu_kernel="torch", min_count=3)
    from_file, _ = train_word2vec(LEE, cfg, "cpu", quiet=True)
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as fh:
            fh.write(LEE.read_bytes())

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        from_pipe, _ = train_word2vec(f"/dev/fd/{read_end}", cfg, "cpu", quiet=True)
    finally:
        thread.join()
        os.close(read_end)
    assert from_pipe.words == from_file.words
    assert torch.equal(from_pipe.vectors, from_file.vectors)


@pytest.mark.parametrize("kernel", KERNELS)
def test_resume_is_exact_with_small_segments(lee, kernel, tmp_path, monkeypatch):
    from seqlab.io import load_checkpoint

    vocab, data = lee
    monkeypatch.setattr(word2vec_module, "SEGMENT_TOKENS", 997)
    cfg = small(cpu_kernel=kernel, epochs=2, checkpoint_words=1)
    uninterrupted = Word2Vec(vocab, cfg)
    uninterrupted.train(data, quiet=True)
    first = Word2Vec(vocab, cfg)
    ckpt = tmp_path / "w2v.ckpt"
    with interrupt_after(int(1.6 * len(data.ids))), pytest.raises(KeyboardInterrupt):  # in the middle of the second
        first.train(data, quiet=True, checkpoint_path=ckpt)  # epoch, past many segments
    resumed = Word2Vec.from_state_dict(load_checkpoint(ckpt))
    assert resumed.epoch == 1 and resumed.chunk > 0
    resumed.train(data, quiet=True)
    assert torch.equal(resumed.w_in, uninterrupted.w_in) and torch.equal(resumed.w_out, uninterrupted.w_out)
