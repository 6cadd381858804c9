"""Every training loop outside EpochTrainer (whose own test is in test_epoch_trainer.py) stops at a
non-finite loss with a DivergedError instead of carrying NaN weights into its result; learning rates
large enough to overflow an optimiser are refused by the configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.config import build_config
from seqlab.errors import ConfigError, DivergedError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def nan_steps(monkeypatch):
    """Adam's steps leave NaN weights behind (what a too large step does, reached without one)."""
    step = torch.optim.Adam.step

    def poisoned(self, *args, **kwargs):
        result = step(self, *args, **kwargs)
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p.fill_(float("nan"))
        return result

    monkeypatch.setattr(torch.optim.Adam, "step", poisoned)


def test_dqn_stops_before_a_nan_network_can_be_the_best(nan_steps):
    from seqlab.rl.dqn import DQNConfig, train_dqn

    cfg = DQNConfig(learning_starts=10, total_steps=60, eval_every=50, eval_episodes=2, buffer_size=100,
                    batch_size=8, hidden_size=8, epsilon_steps=10)
    with pytest.raises(DivergedError, match=r"training diverged: .*weights became NaN or infinite by step 50"):
        train_dqn(cfg, "cpu", quiet=True)


def test_siamese_training_stops_at_a_non_finite_loss(nan_steps):
    from seqlab.vision.siamese import OneShotConfig, train_siamese

    with pytest.raises(DivergedError, match=r"the loss became NaN or infinite at step 2.*lower learning rate"):
        train_siamese(OneShotConfig(steps=20, pairs=50), torch.device("cpu"))


def test_style_transfer_stops_at_a_non_finite_loss(nan_steps):
    from seqlab.vision.style import StyleConfig, make_extractor, style_transfer

    content, style = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    with pytest.raises(DivergedError, match="the loss became NaN or infinite after step 1"):
        style_transfer(content, style, make_extractor(), StyleConfig(optimizer="adam", steps=5))


def test_pretraining_stops_at_a_non_finite_loss_and_keeps_no_bad_checkpoint(tmp_path, nan_steps):
    from seqlab.embeddings.keyed_vectors import KeyedVectors
    from seqlab.sentiment.lm import LMConfig, pretrain_encoder

    (tmp_path / "c.txt").write_text("the cat sat on the mat\n" * 200)
    KeyedVectors(["the", "cat", "sat", "on", "mat"], np.eye(5, dtype=np.float32)).save(tmp_path / "v.txt")
    cfg = LMConfig(tokens=2000, hidden_size=4, min_len=2, checkpoint_minutes=1e-9)
    with pytest.raises(DivergedError, match="weights became NaN or infinite after [0-9,]+ tokens"):
        pretrain_encoder(tmp_path / "c.txt", str(tmp_path / "v.txt"), tmp_path / "enc", cfg, device="cpu", quiet=True)
    assert not (tmp_path / "enc" / "encoder.safetensors").exists()
    assert not (tmp_path / "enc" / "last.safetensors").exists()  # the only checkpoint due held NaN weights


def _configs():
    from seqlab.embeddings.glove import GloveConfig
    from seqlab.embeddings.word2vec import Word2VecConfig
    from seqlab.generative.config import GenerativeConfig
    from seqlab.rl.dqn import DQNConfig
    from seqlab.sentiment.config import SentimentConfig
    from seqlab.sentiment.lm import LMConfig
    from seqlab.seq2seq.config import Seq2SeqConfig
    from seqlab.vision.siamese import OneShotConfig
    from seqlab.vision.style import StyleConfig
    from seqlab.vision.train import VisionConfig

    return [(Seq2SeqConfig, "lr", {"task": "dates"}), (SentimentConfig, "lr"), (VisionConfig, "lr"),
            (GenerativeConfig, "lr"), (GenerativeConfig, "lr_d"), (DQNConfig, "lr"), (LMConfig, "lr"),
            (OneShotConfig, "lr"), (StyleConfig, "lr"), (Word2VecConfig, "alpha"), (GloveConfig, "eta")]


@pytest.mark.parametrize("index", range(11))
def test_a_learning_rate_that_would_overflow_the_optimiser_is_refused(index):
    """lr = 1e38 made Adam's first step (10 lr) overflow float32: a RuntimeError traceback."""
    cls, name, *base = _configs()[index]
    base = base[0] if base else {}
    with pytest.raises(ConfigError, match=rf"{name} must be in [(\[]0, 100\], got 1e\+38"):
        build_config(cls, None, **base, **{name: 1e38})
    assert getattr(build_config(cls, None, **base, **{name: 100.0}), name) == 100.0
