"""Every training loop outside EpochTrainer (whose own test is in test_epoch_trainer.py) stops at a
non-finite loss with a DivergedError instead of carrying NaN weights into its result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqlab.errors import DivergedError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_dqn_stops_before_a_nan_network_can_be_the_best():
    from seqlab.rl.dqn import DQNConfig, train_dqn

    cfg = DQNConfig(lr=1e30, learning_starts=10, total_steps=60, eval_every=50, eval_episodes=2, buffer_size=100,
                    batch_size=8, hidden_size=8, epsilon_steps=10)
    with pytest.raises(DivergedError, match=r"training diverged: .*weights became NaN or infinite by step 50"):
        train_dqn(cfg, "cpu", quiet=True)


def test_siamese_training_stops_at_a_non_finite_loss():
    from seqlab.vision.siamese import OneShotConfig, train_siamese

    with pytest.raises(DivergedError, match=r"the loss became NaN or infinite at step \d+.*lower learning rate"):
        train_siamese(OneShotConfig(steps=20, lr=1e30, pairs=50), torch.device("cpu"))


def test_style_transfer_stops_at_a_non_finite_loss():
    from seqlab.vision.style import StyleConfig, make_extractor, style_transfer

    content, style = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    with pytest.raises(DivergedError, match="the loss became NaN or infinite after step"):
        style_transfer(content, style, make_extractor(), StyleConfig(optimizer="adam", lr=1e30, steps=5))


def test_pretraining_stops_at_a_non_finite_loss_and_keeps_no_bad_checkpoint(tmp_path):
    from seqlab.embeddings.keyed_vectors import KeyedVectors
    from seqlab.sentiment.lm import LMConfig, pretrain_encoder

    (tmp_path / "c.txt").write_text("the cat sat on the mat\n" * 200)
    KeyedVectors(["the", "cat", "sat", "on", "mat"], np.eye(5, dtype=np.float32)).save(tmp_path / "v.txt")
    cfg = LMConfig(tokens=2000, hidden_size=4, min_len=2, lr=1e30, checkpoint_minutes=1e-9)
    with pytest.raises(DivergedError, match="became NaN or infinite after [0-9,]+ tokens"):
        pretrain_encoder(tmp_path / "c.txt", str(tmp_path / "v.txt"), tmp_path / "enc", cfg, device="cpu", quiet=True)
    assert not (tmp_path / "enc" / "encoder.safetensors").exists()
    if (tmp_path / "enc" / "last.safetensors").exists():
        from seqlab.io import load_checkpoint

        state = load_checkpoint(tmp_path / "enc" / "last.safetensors")
        assert all(torch.isfinite(v).all() for v in state["model"].values())
