"""The digits data, the trainer (learning, decay schedules, optimisers, exact resume) and its errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from seqlab.config import build_config
from seqlab.errors import ConfigError, DataError
from seqlab.io import load_checkpoint, save_checkpoint
from seqlab.vision.data import load_digits_splits
from seqlab.vision.train import (
    LAST_FILE,
    VisionConfig,
    VisionTrainer,
    decay_factor,
    load_model,
    make_optimizer,
    random_shift,
    train_vision,
)

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


def test_digits_splits_are_stratified_standardised_and_upsampled():
    data = load_digits_splits(image_size=16, in_channels=3, seed=0)
    assert len(data.train) + len(data.valid) + len(data.test) == 1797
    assert data.train.images.shape[1:] == (3, 16, 16)
    assert abs(float(data.train.images.mean())) < 1e-4 and abs(float(data.train.images.std()) - 1) < 1e-3
    counts = torch.bincount(data.test.labels, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # 20% of each digit's ~180 images


def test_decay_schedules():
    inverse = VisionConfig(decay="inverse", decay_rate=0.5)
    assert [decay_factor(inverse, e) for e in range(3)] == [1.0, 1 / 1.5, 1 / 2.0]
    exponential = VisionConfig(decay="exponential")
    assert decay_factor(exponential, 3) == pytest.approx(0.95 ** 3)
    assert decay_factor(VisionConfig(), 7) == 1.0
    params = [torch.nn.Parameter(torch.zeros(1))]
    kinds = {name: type(make_optimizer(VisionConfig(optimizer=name), params)).__name__
             for name in ("sgd", "momentum", "rmsprop", "adam")}
    assert kinds == {"sgd": "SGD", "momentum": "SGD", "rmsprop": "RMSprop", "adam": "Adam"}
    assert make_optimizer(VisionConfig(optimizer="momentum", momentum=0.8), params).param_groups[0]["momentum"] == 0.8


def test_random_shift_moves_each_image_within_bounds():
    images = torch.zeros(4, 1, 9, 9)
    images[:, :, 4, 4] = 1.0
    shifted = random_shift(images, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    for img in shifted[:, 0]:
        (r, c), = img.nonzero().tolist()
        assert abs(r - 4) <= 2 and abs(c - 4) <= 2
    assert random_shift(images, 0, torch.Generator()) is images


def test_lenet_learns_digits_and_the_learning_rate_decays(tmp_path):
    cfg = VisionConfig(epochs=4, lr=3e-3, decay="exponential", decay_base=0.5, image_size=16, batch_size=32)
    summary = train_vision(cfg, tmp_path / "m", CPU, quiet=True)
    assert summary["test_accuracy"] > 0.85  # chance is 10%
    assert [h["lr"] for h in summary["history"]] == pytest.approx([3e-3, 1.5e-3, 7.5e-4, 3.75e-4])
    model, saved = load_model(tmp_path / "m")
    assert saved == cfg and not model.training
    assert (tmp_path / "m" / "config.toml").read_text().startswith("[vision]")


def test_resume_gives_the_uninterrupted_run(tmp_path):
    cfg = VisionConfig(model="resnet18", width=0.125, image_size=8, epochs=2, optimizer="rmsprop", lr=1e-3,
                       decay="inverse", shift=1, batch_size=128, valid_fraction=0.05)
    data = load_digits_splits(8, 1, cfg.test_fraction, cfg.valid_fraction, cfg.seed)
    VisionTrainer(cfg, tmp_path / "full", CPU, data=data, quiet=True).fit()
    first = dataclasses.replace(cfg, epochs=1)
    VisionTrainer(first, tmp_path / "part", CPU, data=data, quiet=True).fit()
    train_vision(cfg, tmp_path / "part", CPU, resume=True, quiet=True)
    full = load_checkpoint(tmp_path / "full" / LAST_FILE)["model"]
    resumed = load_checkpoint(tmp_path / "part" / LAST_FILE)["model"]
    for key in full:
        torch.testing.assert_close(resumed[key], full[key], rtol=0, atol=0)


class _Killed(Exception):
    pass


def test_a_run_killed_mid_epoch_resumes_exactly_shifts_included(tmp_path):
    """Checkpoints after every batch; the run dies at step 4 of 7 (epoch 1 has 4 batches): the resumed
    run draws the same shifts (from the shuffling generator, mid-epoch) and ends with the same weights."""
    cfg = VisionConfig(image_size=16, epochs=2, shift=1, batch_size=400, valid_fraction=0.05, dropout=0.5,
                       checkpoint_minutes=1e-9)
    data = load_digits_splits(16, 1, cfg.test_fraction, cfg.valid_fraction, cfg.seed)
    full = VisionTrainer(cfg, tmp_path / "full", CPU, data=data, quiet=True)
    full_summary = full.fit()

    class Dying(VisionTrainer):
        def step(self, index):
            if self.step_count == 3:
                raise _Killed
            return super().step(index)

    with pytest.raises(_Killed):
        Dying(cfg, tmp_path / "run", CPU, data=data, quiet=True).fit()
    state = load_checkpoint(tmp_path / "run" / LAST_FILE)
    assert (state["epoch"], state["position"]) == (0, 3)
    resumed = VisionTrainer(cfg, tmp_path / "run", CPU, data=data, quiet=True)
    resumed.load_state(state)
    assert resumed.fit()["history"] == full_summary["history"]
    for (name, p), q in zip(full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_without_a_validation_split_the_lowest_training_loss_wins(tmp_path):
    cfg = VisionConfig(epochs=2, image_size=16, valid_fraction=0.0, batch_size=128)
    summary = train_vision(cfg, tmp_path / "m", CPU, quiet=True)
    assert summary["best_valid_accuracy"] is None and 0 <= summary["test_accuracy"] <= 1
    assert all(h["valid_accuracy"] is None for h in summary["history"])


def test_errors(tmp_path):
    with pytest.raises(DataError, match="no checkpoint to resume from"):
        train_vision(VisionConfig(), tmp_path / "none", CPU, resume=True)
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        build_config(VisionConfig, optimizer="lbfgs")
    bad = tmp_path / "bad.toml"
    bad.write_text("[vision]\nmodel = 'resnet101'\n")
    with pytest.raises(ConfigError, match="bad.toml.*model must be one of"):
        build_config(VisionConfig, bad, "vision")
    (tmp_path / "x.pt").write_bytes(b"junk")
    with pytest.raises(DataError, match="x.pt: not a seqlab model or checkpoint"):
        load_model(tmp_path / "x.pt")
    save_checkpoint({"kind": "seq2seq-model"}, tmp_path / "y.pt")
    with pytest.raises(DataError, match="y.pt: not a vision model"):
        load_model(tmp_path / "y.pt")
    with pytest.raises(DataError, match="not a seqlab vision model directory"):
        load_model(tmp_path)
    save_checkpoint({"kind": "vision-model", "config": {"modle": "lenet5"}, "model": {}}, tmp_path / "z.pt")
    with pytest.raises(DataError, match="z.pt: incompatible vision checkpoint"):
        load_model(tmp_path / "z.pt")


def test_shipped_configs_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs"
    lenet = build_config(VisionConfig, root / "digits_lenet.toml", "vision")
    resnet = build_config(VisionConfig, root / "digits_resnet.toml", "vision")
    assert lenet.model == "lenet5" and resnet.model == "resnet18" and resnet.optimizer == "momentum"
