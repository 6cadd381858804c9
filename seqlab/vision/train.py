"""Training an image classifier on the digits: torch optimisers, learning-rate decay, checkpoints.

Each epoch shuffles the training images (seeded generator, so a resumed run sees the same
batches), optionally shifts each image by up to ``shift`` pixels (pad by replication + random
crop), and takes one optimiser step per batch on the cross-entropy (or the focal loss). The
optimiser is SGD with momentum, RMSProp (Hinton's lecture 6e) or Adam (Kingma & Ba 2015); the
learning rate after ``epoch`` epochs is ``lr / (1 + decay_rate * epoch)`` ("inverse") or
``lr * decay_base ** epoch`` ("exponential", 0.95 by default), through torch's LambdaLR. After every
epoch the model is scored on the validation split; the best one is saved as ``<out>/model.safetensors``,
the training state as ``<out>/last.safetensors`` (also every ``checkpoint_minutes``), both atomically;
``resume`` continues from ``last.safetensors`` exactly where it stopped, in the middle of an epoch too
(:class:`seqlab.training.EpochTrainer`). The reported test accuracy is the best model's. Under ``torchrun``
each process trains on its share of every global batch of ``batch_size * N`` images, shifted as one process
would shift them (:mod:`seqlab.distributed`): the steps of one process with the whole batch, except that on
CPUs batch normalisation sees each process's share only (SyncBatchNorm on GPUs).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.config import learning_rate_check, setting
from seqlab.device import make_generator, resolve_device
from seqlab.errors import ConfigError
from seqlab.io import claim_output, incompatible_checkpoint, load_model_dir, save_checkpoint
from seqlab.training import EpochTrainer, load_training_state
from seqlab.vision.architectures import MODELS, build_model
from seqlab.vision.data import Digits, ImageSplit, load_digits_splits
from seqlab.vision.losses import focal_loss

SECTION = "vision"
TRAIN_KIND = "vision-train"
MODEL_KIND = "vision-model"
MODEL_FILE, LAST_FILE = "model.safetensors", "last.safetensors"
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
DECAYS = ("none", "inverse", "exponential")
LOSSES = ("cross_entropy", "focal")


@dataclass(frozen=True)
class VisionConfig:
    """One classifier run on the digits (defaults: LeNet-5 at 32x32, Adam)."""

    # data
    image_size: int = 32
    in_channels: int = 1
    test_fraction: float = 0.2
    valid_fraction: float = 0.1
    shift: int = 0  # augmentation: random shifts of up to this many pixels
    # model
    model: str = setting("lenet5", "lenet5, alexnet, vgg11/13/16/19, googlenet, resnet18/34/50.", flag=True)
    width: float = 1.0
    shortcut: str = "B"
    batch_norm: bool = False
    small_input: bool = True
    dropout: float = 0.5
    # training
    epochs: int = setting(20, "Training epochs.", flag=True)
    batch_size: int = setting(64, "Images per batch.", flag=True)
    optimizer: str = setting("adam", "sgd, momentum, rmsprop or adam.", flag=True)
    lr: float = setting(1e-3, "Initial learning rate.", flag=True)
    momentum: float = 0.9  # SGD momentum, and RMSProp's momentum term
    rmsprop_alpha: float = 0.99  # RMSProp's decay of the squared-gradient average
    weight_decay: float = 0.0
    decay: str = setting("none", "none, inverse (1/(1+decay_rate*epoch)) or exponential (decay_base^epoch).",
                         flag=True)
    decay_rate: float = 1.0  # inverse: lr / (1 + decay_rate * epoch)
    decay_base: float = 0.95  # exponential: lr * decay_base ** epoch
    loss: str = "cross_entropy"
    focal_gamma: float = 2.0
    checkpoint_minutes: float = 10.0
    seed: int = setting(0, "Random seed.", flag=True)

    def validate(self) -> None:
        checks = [
            (self.model in MODELS, f"model must be one of {', '.join(MODELS)}, got {self.model!r}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.decay in DECAYS, f"decay must be one of {', '.join(DECAYS)}, got {self.decay!r}"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}"),
            (self.shortcut in ("A", "B", "C"), f"shortcut must be A, B or C, got {self.shortcut!r}"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be at least 1"),
            learning_rate_check(self.lr),
            (self.in_channels >= 1 and self.image_size >= 8, "in_channels >= 1 and image_size >= 8 are needed"),
            (self.shift >= 0, "shift must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def build_model(self, num_classes: int = 10) -> nn.Module:
        return build_model(self.model, num_classes, self.in_channels, self.image_size, self.width, self.shortcut,
                           self.batch_norm, self.small_input, self.dropout)


def make_optimizer(cfg: VisionConfig, params) -> torch.optim.Optimizer:
    """The configured torch optimiser."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.rmsprop_alpha, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
    momentum = cfg.momentum if cfg.optimizer == "momentum" else 0.0
    return torch.optim.SGD(params, lr=cfg.lr, momentum=momentum, weight_decay=cfg.weight_decay)


def decay_factor(cfg: VisionConfig, epoch: int) -> float:
    """The multiplier of the initial learning rate during epoch ``epoch`` (0-based)."""
    if cfg.decay == "inverse":
        return 1.0 / (1.0 + cfg.decay_rate * epoch)
    if cfg.decay == "exponential":
        return cfg.decay_base ** epoch
    return 1.0


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image (N, C, H, W) moved by its own random offset in [-max_shift, max_shift] pixels."""
    if max_shift <= 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).to(images.device)
    rows = (offsets[0, :, None] + torch.arange(h, device=images.device))[:, :, None]  # (N, H, 1)
    cols = (offsets[1, :, None] + torch.arange(w, device=images.device))[:, None, :]  # (N, 1, W)
    return padded[torch.arange(n, device=images.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


@torch.no_grad()
def accuracy(model: nn.Module, split: ImageSplit, device: torch.device, batch_size: int = 256) -> float:
    """Share of ``split`` that ``model`` classifies correctly (eval mode)."""
    if len(split) == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(split), batch_size):
        x = split.images[start:start + batch_size].to(device)
        y = split.labels[start:start + batch_size].to(device)
        correct += int((model(x).argmax(1) == y).sum())
    model.train(was_training)
    return correct / len(split)


def model_state(model: nn.Module, cfg: VisionConfig, metrics: dict | None = None) -> dict:
    return {"kind": MODEL_KIND, "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "config": dataclasses.asdict(cfg), "metrics": metrics or {}}


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[nn.Module, VisionConfig]:
    """A trained classifier (a model directory or its model file) in eval mode on ``device`` (``auto``, ``cpu``,
    ``cuda[:N]``), with its config."""
    file, state = load_model_dir(path, MODEL_KIND, "vision", MODEL_FILE)
    with incompatible_checkpoint(file, "vision"):
        cfg = VisionConfig(**state["config"])
        model = cfg.build_model()
        model.load_state_dict(state["model"])
    return model.to(resolve_device(device)).eval(), cfg


class VisionTrainer(EpochTrainer):
    """Owns the model, optimiser, schedule and data of one run; ``fit`` trains."""

    kind, section = TRAIN_KIND, SECTION

    def __init__(self, cfg: VisionConfig, out_dir: str | os.PathLike, device: torch.device,
                 data: Digits | None = None, quiet: bool = False, log: Callable[[str], None] | None = None) -> None:
        device = self.join(device, log)  # torchrun: rank, world, this rank's GPU, rank 0's log
        self.cfg, self.out, self.device, self.quiet = cfg, Path(out_dir), device, quiet
        self.data = data or load_digits_splits(cfg.image_size, cfg.in_channels, cfg.test_fraction,
                                               cfg.valid_fraction, cfg.seed)
        torch.manual_seed(cfg.seed)
        self.model = cfg.build_model(self.data.num_classes).to(device)
        self.net = self.parallel.wrap(self.model)  # DDP under torchrun (SyncBatchNorm on GPUs)
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda e: decay_factor(cfg, e))
        self.generator = make_generator(cfg.seed, torch.device("cpu"))  # shuffling and shifts
        self.train_x = self.data.train.images.to(device)
        self.train_y = self.data.train.labels.to(device)
        self.init_loop()

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.cfg.loss == "focal":
            return focal_loss(logits, target, self.cfg.focal_gamma)
        return F.cross_entropy(logits, target)

    def epoch_batches(self) -> list[torch.Tensor]:
        """This epoch's shuffled global batches of ``batch_size * world`` images (the same on every rank, and
        again after a resume)."""
        self.generator.set_state(self.epoch_generator_state)
        order = torch.randperm(len(self.train_y), generator=self.generator).to(self.device)
        return list(order.split(self.cfg.batch_size * self.world))

    def step(self, index: torch.Tensor) -> torch.Tensor:
        """One optimiser step on the (shifted) training images at ``index`` (the global batch; this rank's
        shard of it under torchrun); returns the loss (of the global batch)."""
        self.model.train()
        # the shifts are drawn for the whole global batch, as one process draws them, then sharded
        x = self.shard(random_shift(self.train_x[index], self.cfg.shift, self.generator))
        y = self.shard(self.train_y[index])
        loss = self.loss(self.net(x), y)  # a mean over the shard's images
        self.optimizer.zero_grad(set_to_none=True)
        self.parallel.for_backward(loss, len(y), len(index)).backward()
        self.optimizer.step()
        self.step_count += 1
        return self.parallel.mean({"loss": loss.detach()}, len(y), len(index))["loss"]

    def validate(self) -> dict:
        valid = accuracy(self.model, self.data.valid, self.device)
        return {"lr": self.optimizer.param_groups[0]["lr"], "valid_accuracy": valid if valid == valid else None}

    def selection_key(self, metrics: dict, record: dict) -> list[float]:
        valid = metrics["valid_accuracy"]
        return [valid if valid is not None else -record["train_loss"]]  # no validation split: lowest training loss

    def after_epoch(self, metrics: dict) -> None:
        self.scheduler.step()

    def save_best(self, record: dict) -> None:
        save_checkpoint(model_state(self.model, self.cfg, record), self.out / MODEL_FILE)

    def describe(self, record: dict, improved: bool) -> str:
        valid = record["valid_accuracy"]
        shown = f"valid accuracy {100 * valid:.2f}%" if valid is not None else "no validation split"
        return (f"epoch {record['epoch']}: lr {record['lr']:.3g}, train loss {record['train_loss']:.4f}, {shown}"
                f"{' (best)' if improved else ''}")

    def extra_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])

    def fit(self) -> dict:
        self._start = time.perf_counter()
        return super().fit()

    def summary(self) -> dict:
        model, _ = load_model(self.out / MODEL_FILE, self.device)
        test = accuracy(model, self.data.test, self.device)
        valid = [r["valid_accuracy"] for r in self.history if r["valid_accuracy"] is not None]
        return {"test_accuracy": test, "best_valid_accuracy": max(valid) if valid else None,
                "epochs": self.epoch, "steps": self.step_count, "seconds": time.perf_counter() - self._start,
                "model": str(self.out / MODEL_FILE), "history": self.history}


def train_vision(cfg: VisionConfig, out_dir: str | os.PathLike, device: torch.device, resume: bool = False,
                 quiet: bool = False, log: Callable[[str], None] | None = None) -> dict:
    """Train (or with ``resume`` continue) a digits classifier into ``out_dir``; returns the run's summary
    with ``test_accuracy`` (of the best model on the validation split)."""
    with claim_output(out_dir, directory=True) as out:
        state = None
        if resume:
            state = load_training_state(out / LAST_FILE, TRAIN_KIND, "vision")
            saved = VisionConfig(**state["config"])
            if dataclasses.replace(saved, epochs=cfg.epochs, checkpoint_minutes=cfg.checkpoint_minutes) != cfg:
                raise ConfigError(f"{out / LAST_FILE}: was trained with different settings; resume with its "
                                  f"settings (see {out / 'config.toml'}), changing only epochs")
        trainer = VisionTrainer(cfg, out, device, quiet=quiet, log=log)
        if state:
            trainer.load_state(state)
        return trainer.fit()
