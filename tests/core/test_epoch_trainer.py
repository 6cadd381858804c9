"""seqlab.training.EpochTrainer, the loop every trainer shares: a run killed in the middle of an epoch and
resumed from last.safetensors equals the uninterrupted run; early stopping; best-model selection; bad checkpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from seqlab.distributed import DataParallel
from seqlab.errors import DataError, DivergedError
from seqlab.io import load_checkpoint, save_checkpoint
from seqlab.training import EpochTrainer

pytestmark = pytest.mark.usefixtures("one_thread")


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    epochs: int = 3
    patience: int = 0
    checkpoint_minutes: float = 0.0
    batch_size: int = 8
    seed: int = 0


class Killed(Exception):
    pass


class ToyTrainer(EpochTrainer):
    """Noisy linear regression with dropout: each step draws from the shuffling generator (input noise,
    like the vision trainer's shifts) and from the global generator (dropout)."""

    kind, section = "toy-train", "toy"

    def __init__(self, cfg: ToyConfig, out: Path, valid_losses: list[float] | None = None,
                 kill_at: int | None = None) -> None:
        self.cfg, self.out, self.quiet, self.log = cfg, Path(out), True, lambda message: None
        torch.manual_seed(cfg.seed)
        data = torch.Generator().manual_seed(123)
        self.x = torch.randn(50, 4, generator=data)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(50, generator=data)
        self.model = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(4, 1))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.05)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.valid_losses, self.kill_at, self.saved = valid_losses, kill_at, []
        self.init_loop()

    def epoch_batches(self) -> list[torch.Tensor]:
        self.generator.set_state(self.epoch_generator_state)
        return list(torch.randperm(len(self.x), generator=self.generator).split(self.cfg.batch_size))

    def step(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.kill_at is not None and self.step_count == self.kill_at:
            raise Killed
        self.model.train()
        x = self.x[index] + 0.01 * torch.randn(len(index), 4, generator=self.generator)
        loss = torch.nn.functional.mse_loss(self.model(x).squeeze(1), self.y[index])
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.step_count += 1
        return {"loss": loss.detach(), "abs": loss.detach().sqrt()}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        if self.valid_losses is not None:  # scripted validation scores
            return {"valid_loss": self.valid_losses[len(self.history)]}
        self.model.eval()
        return {"valid_loss": float(torch.nn.functional.mse_loss(self.model(self.x).squeeze(1), self.y))}

    def selection_key(self, metrics: dict, record: dict) -> list[float]:
        return [-metrics["valid_loss"]]

    def save_best(self, record: dict) -> None:
        self.saved.append(record["epoch"])
        save_checkpoint({"kind": "toy-model", "model": self.model.state_dict()}, self.out / "model.safetensors")

    def extra_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


def _weights(trainer: ToyTrainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.model.parameters()]


@pytest.mark.parametrize("kill_at", [3, 7, 17])  # inside epoch 1, at the start of epoch 2, inside epoch 3
def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_run(tmp_path, kill_at):
    cfg = ToyConfig(checkpoint_minutes=1e-9)  # a checkpoint after every batch
    full = ToyTrainer(cfg, tmp_path / "full")
    summary = full.fit()
    assert [h["epoch"] for h in summary["history"]] == [1, 2, 3] and full.step_count == 21

    killed = ToyTrainer(cfg, tmp_path / "run", kill_at=kill_at)
    with pytest.raises(Killed):
        killed.fit()
    state = load_checkpoint(tmp_path / "run" / "last.safetensors")
    assert state["step"] == kill_at  # nothing done was lost
    resumed = ToyTrainer(cfg, tmp_path / "run")
    resumed.load_state(state)
    assert resumed.fit()["history"] == summary["history"]  # the epoch-mean losses included
    for a, b in zip(_weights(full), _weights(resumed), strict=True):
        assert torch.equal(a, b)
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_history_holds_epoch_means_and_the_best_model_is_saved(tmp_path):
    trainer = ToyTrainer(ToyConfig(epochs=4), tmp_path / "m", valid_losses=[3.0, 1.0, 2.0, 1.0])
    history = trainer.fit()["history"]
    assert set(history[0]) == {"epoch", "train_loss", "train_abs", "valid_loss"}
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert trainer.saved == [1, 2]  # a tie (epoch 4) is not better
    assert trainer.best_key == [-1.0] and (tmp_path / "m" / "model.safetensors").exists()


def test_early_stopping_after_patience_epochs_without_a_better_model(tmp_path):
    trainer = ToyTrainer(ToyConfig(epochs=10, patience=2), tmp_path / "m", valid_losses=[1.0, 2.0, 0.5, 0.9, 0.7, 0.1])
    trainer.fit()
    assert trainer.epoch == 5 and trainer.saved == [1, 3]


def test_a_worker_rank_writes_nothing(tmp_path):
    """Rank 1 of a torchrun group trains, takes rank 0's validation (broadcast), writes nothing and returns the
    loop's own summary (tests/core/test_ddp.py runs real groups)."""

    class Rank1(DataParallel):
        def broadcast(self, value):
            assert value is None  # only rank 0 validates
            return {"valid_loss": 0.5}

    trainer = ToyTrainer(ToyConfig(epochs=1), tmp_path / "m")
    trainer.parallel, trainer.rank = Rank1(rank=1, world=2), 1
    summary = trainer.fit()
    assert not (tmp_path / "m").exists() and trainer.saved == []
    assert summary["history"][0]["valid_loss"] == 0.5 and summary.keys() == {"epochs", "steps", "history"}


def test_bad_checkpoints_are_refused_in_one_line(tmp_path):
    trainer = ToyTrainer(ToyConfig(epochs=1), tmp_path / "m")
    trainer.fit()
    state = load_checkpoint(tmp_path / "m" / "last.safetensors")
    with pytest.raises(DataError, match=r"m/last.safetensors: not a toy training checkpoint"):
        ToyTrainer(ToyConfig(), tmp_path / "m").load_state({**state, "kind": "vision-train"})
    del state["history"]
    with pytest.raises(DataError, match=r"last.safetensors: the training checkpoint has no 'history'.*--resume"):
        ToyTrainer(ToyConfig(), tmp_path / "m").load_state(state)


@pytest.mark.parametrize("checkpoint_minutes", [0.0, 1e-9])  # checkpoints at epoch ends only, or after every batch
def test_a_diverging_run_stops_and_keeps_the_last_finite_checkpoint_and_best_model(tmp_path, checkpoint_minutes):
    trainer = ToyTrainer(ToyConfig(epochs=3, checkpoint_minutes=checkpoint_minutes), tmp_path / "m")
    trainer.cfg = dataclasses.replace(trainer.cfg, epochs=1)
    trainer.fit()
    best = (tmp_path / "m" / "model.safetensors").read_bytes()
    last = (tmp_path / "m" / "last.safetensors").read_bytes()
    trainer.cfg = dataclasses.replace(trainer.cfg, epochs=3)
    trainer.optimizer.param_groups[0]["lr"] = float("inf")  # the next step makes the weights non-finite
    with pytest.raises(DivergedError, match=r"training diverged: the .* became NaN or infinite in epoch 2 \(batch \d "
                                            r"of 7\).*last finite checkpoint is .*m/last.safetensors.*lower learning"):
        trainer.fit()
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == best  # the best model is not replaced
    assert (tmp_path / "m" / "last.safetensors").read_bytes() == last  # nor the checkpoint by a non-finite one
    state = load_checkpoint(tmp_path / "m" / "last.safetensors")
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert len(trainer.history) == 1 and not list((tmp_path / "m").glob("*.tmp"))
