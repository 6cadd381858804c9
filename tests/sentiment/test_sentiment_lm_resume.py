"""The biLM pretraining on the budget loop: a run interrupted in a later pass over the sentences resumes
exactly, every pass sees all the sentences, and a run without ``resume`` replaces an old checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from interrupt import interrupt_after

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import DataError
from seqlab.io import load_checkpoint
from seqlab.sentiment.lm import LMConfig, load_encoder, pretrain_encoder

pytestmark = pytest.mark.usefixtures("one_thread")

WORDS = ["the", "film", "is", "good", "bad", "not", "very", ".", "!", "a", "plot", "dull"]
# about 1,000 tokens a pass: 3,000 tokens make three passes, and a checkpoint after every batch
CFG = LMConfig(hidden_size=6, dropout=0.2, tokens=3_000, batch_size=8, cutoffs=(6,), min_len=2, checkpoint_minutes=1e-9)


@pytest.fixture
def inputs(tmp_path):
    vectors = KeyedVectors(WORDS, np.random.default_rng(0).normal(size=(len(WORDS), 5)).astype(np.float32))
    rng = np.random.default_rng(1)
    lines = [" ".join([*rng.choice(WORDS[:7], rng.integers(2, 6)), "."]) for _ in range(200)]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "c.txt", str(vectors.save(tmp_path / "v.txt"))


def test_a_run_interrupted_in_a_later_pass_resumes_exactly(tmp_path, inputs):
    corpus, vectors = inputs
    summary = pretrain_encoder(corpus, vectors, tmp_path / "whole", CFG, "cpu", quiet=True)
    assert 2.5 < summary["passes"] < 3.5  # every pass is over all the sentences
    with interrupt_after(int(0.6 * CFG.tokens)), pytest.raises(KeyboardInterrupt):
        pretrain_encoder(corpus, vectors, tmp_path / "cut", CFG, "cpu", quiet=True)
    assert load_checkpoint(tmp_path / "cut" / "last.safetensors")["epoch"] >= 1  # stopped after the first pass
    resumed = pretrain_encoder(corpus, vectors, tmp_path / "cut", CFG, "cpu", resume=True, quiet=True)
    assert resumed["tokens"] == summary["tokens"] and resumed["passes"] == summary["passes"]
    whole, cut = load_encoder(tmp_path / "whole"), load_encoder(tmp_path / "cut")
    for key, value in whole["rnn"].items():
        torch.testing.assert_close(cut["rnn"][key], value, atol=0, rtol=0)
    assert not (tmp_path / "cut" / "last.safetensors").exists()


def test_a_run_without_resume_starts_afresh_and_replaces_the_checkpoint(tmp_path, inputs):
    corpus, vectors = inputs
    with pytest.raises(DataError, match=r"enc/last.safetensors: no checkpoint to resume from"):
        pretrain_encoder(corpus, vectors, tmp_path / "enc", CFG, "cpu", resume=True, quiet=True)
    with interrupt_after(int(0.6 * CFG.tokens)), pytest.raises(KeyboardInterrupt):
        pretrain_encoder(corpus, vectors, tmp_path / "enc", CFG, "cpu", quiet=True)
    with interrupt_after(checkpoints=1), pytest.raises(KeyboardInterrupt):
        pretrain_encoder(corpus, vectors, tmp_path / "enc", CFG, "cpu", quiet=True)
    assert load_checkpoint(tmp_path / "enc" / "last.safetensors")["position"] == 1  # the new run's first batch
    pretrain_encoder(corpus, vectors, tmp_path / "enc", CFG, "cpu", quiet=True)
    pretrain_encoder(corpus, vectors, tmp_path / "whole", CFG, "cpu", quiet=True)
    for key, value in load_encoder(tmp_path / "whole")["rnn"].items():
        torch.testing.assert_close(load_encoder(tmp_path / "enc")["rnn"][key], value, atol=0, rtol=0)
