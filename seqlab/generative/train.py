"""Training an autoencoder, VAE or GAN: Adam, best + last checkpoints, resume.

Each step takes one shuffled mini-batch: a gradient step on the autoencoder's loss or the VAE's
negative ELBO, or the GAN's alternating discriminator/generator updates. After every epoch the model
is scored on the validation images (lower is better): the autoencoder by its reconstruction loss,
the VAE by its negative ELBO (one seeded posterior sample per image), the GAN by the MMD^2 between
``eval_samples`` seeded samples and the validation images on pixels. The best model so far is saved
as ``<out>/model.safetensors`` and the training state as ``<out>/last.safetensors`` (also every
``checkpoint_minutes``), both atomically; ``resume`` continues from ``last.safetensors`` at the batch where it
stopped, with the same random state. At the end the best model is scored the same way on the test set.
Under ``torchrun`` each process trains on its share of every global batch of ``batch_size * N`` images
(:mod:`seqlab.distributed`); a GAN's latent vectors are drawn for the whole batch and shared out, so N
processes take one process's steps, while the autoencoders' corruption and the VAE's samples come from
each process's own stream.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import torch

from seqlab.device import make_generator
from seqlab.generative.autoencoder import Autoencoder, reconstruction_loss
from seqlab.generative.config import GenerativeConfig
from seqlab.generative.data import ImageData, load_images
from seqlab.generative.distances import mmd
from seqlab.generative.evaluate import PIXEL_BANDWIDTHS
from seqlab.generative.gan import GAN
from seqlab.generative.models import MODEL_FILE, build_model, code_gaussian, model_state, save_model
from seqlab.io import claim_output
from seqlab.training import EpochTrainer, check_same_architecture, load_training_state

TRAIN_KIND = "generative-train"
LAST_FILE = "last.safetensors"
SECTION = "generative"


def load_data(cfg: GenerativeConfig) -> ImageData:
    return load_images(cfg.data, cfg.image_size, cfg.binarize, cfg.test_fraction, cfg.valid_fraction, cfg.seed)


@torch.no_grad()
def score(model: torch.nn.Module, images: torch.Tensor, seed: int, eval_samples: int = 500,
          batch_size: int = 512) -> dict[str, float]:
    """The selection score of a model on ``images`` (N, C, H, W) (lower is better) and its named parts.

    ae: mean reconstruction loss; vae: mean -ELBO, with its reconstruction and KL parts (nats per
    image); gan: MMD^2 on pixels between ``eval_samples`` samples and ``images``.
    """
    model.eval()
    device = next(model.parameters()).device
    generator = make_generator(seed, device)
    if isinstance(model, GAN):
        samples = model.sample(eval_samples, generator)
        value = float(mmd(samples.flatten(1), images.to(device).flatten(1), PIXEL_BANDWIDTHS))
        model.train()
        return {"score": value, "mmd_pixels": value}
    totals = torch.zeros(3, device=device, dtype=torch.float64)
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].to(device).flatten(1)
        if isinstance(model, Autoencoder):
            rec = reconstruction_loss(model.decode(model.encode(x)), x, model.cfg.likelihood)
            kl = torch.zeros_like(rec)
        else:
            log_lik, kl = model.elbo(x, generator)
            rec = -log_lik
        totals += torch.stack([rec.sum(), kl.sum(), (rec + kl).sum()]).double()
    model.train()
    rec, kl, neg_elbo = (totals / len(images)).tolist()
    if isinstance(model, Autoencoder):
        return {"score": rec, "reconstruction": rec}
    return {"score": neg_elbo, "elbo": -neg_elbo, "reconstruction": rec, "kl": kl}


class GenerativeTrainer(EpochTrainer):
    """Owns the model, optimisers, random state and data of one run; ``fit`` trains it."""

    kind, section = TRAIN_KIND, SECTION
    smoothing, postfix_every = 0.9, 10

    def __init__(self, cfg: GenerativeConfig, out_dir: str | os.PathLike, device: torch.device,
                 data: ImageData | None = None, quiet: bool = False,
                 log: Callable[[str], None] | None = None) -> None:
        device = self.join(device, log)  # torchrun: rank, world, this rank's GPU, rank 0's log
        self.cfg, self.out, self.device, self.quiet = cfg, Path(out_dir), device, quiet
        self.data = data or load_data(cfg)
        self.shape = self.data.shape
        self.train_images = self.data.train.to(device)
        with torch.random.fork_rng(devices=[]):  # seeded initial weights without touching the global state
            torch.manual_seed(cfg.seed)
            self.model = build_model(cfg, self.shape).to(device)
        if isinstance(self.model, GAN):  # DDP under torchrun: G and D, each with its own optimiser
            self.nets = (self.parallel.wrap(self.model.generator), self.parallel.wrap(self.model.discriminator))
        else:
            self.loss_net = self.parallel.wrap(self.model, "loss")
            if self.world > 1 and getattr(self.model.cfg, "sparsity", "") == "kl":
                self.log(f"the KL sparsity penalty on {self.world} processes: each takes its mean code "
                         "activation over its own share of the batch")
        betas = (cfg.adam_beta1, 0.999)
        if isinstance(self.model, GAN):
            self.optimizers = {
                "g": torch.optim.Adam(self.model.generator.parameters(), lr=cfg.lr, betas=betas),
                "d": torch.optim.Adam(self.model.discriminator.parameters(), lr=cfg.lr_d or cfg.lr, betas=betas)}
        else:
            self.optimizers = {"model": torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=betas)}
        self.noise = make_generator(cfg.seed, device)  # noise, corruption, reparameterisation
        self.generator = make_generator(cfg.seed, torch.device("cpu"))  # shuffling
        self.init_loop()

    def step(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """One update on the training images at ``index`` (the global batch; this rank's shard of it under
        torchrun); returns the losses (detached; the global batch's means under torchrun too)."""
        part = self.shard(index)
        x = self.train_images[part.to(self.device)]
        local, total = len(part), len(index)  # every loss is a mean over the shard's images
        self.model.train()
        if isinstance(self.model, GAN):
            # the latent vectors of the whole global batch, drawn as one process draws them, then sharded
            parts = self.model.step(x, self.optimizers["d"], self.optimizers["g"], self.noise, self.cfg.d_steps,
                                    nets=self.nets, draw=lambda: self.shard(self.model.noise(total, self.noise)),
                                    scale=self.parallel.scale(local, total))
        else:
            loss, parts = self.loss_net(x, self.noise)
            optimizer = self.optimizers["model"]
            optimizer.zero_grad(set_to_none=True)
            self.parallel.for_backward(loss, local, total).backward()
            optimizer.step()
            parts = {"loss": loss.detach(), **parts}
        self.step_count += 1
        return self.parallel.mean(parts, local, total)

    def usable(self, index: torch.Tensor) -> bool:
        return self.parallel.usable(index, per_process=2)  # batch normalisation needs two images

    def per_rank_generators(self) -> tuple[torch.Generator, ...]:
        # corruption and reparameterisation noise is drawn per image of the shard; a GAN's latent vectors
        # are drawn for the global batch on every rank alike
        return () if isinstance(self.model, GAN) else (self.noise,)

    def epoch_batches(self) -> list[torch.Tensor]:
        """This epoch's shuffled global batches of ``batch_size * world`` images (the same on every rank,
        and again after a resume); a last batch of one image is dropped (batch normalisation needs two)."""
        self.generator.set_state(self.epoch_generator_state)
        order = torch.randperm(len(self.train_images), generator=self.generator)
        return [b for b in order.split(self.cfg.batch_size * self.world) if len(b) > 1]

    def validate(self) -> dict[str, float]:
        return {f"valid_{k}": v for k, v in score(self.model, self.data.valid, self.cfg.seed + 1,
                                                   self.cfg.eval_samples).items()}

    def selection_key(self, metrics: dict, record: dict) -> list[float]:
        return [-metrics["valid_score"]]  # lower is better

    # --- checkpoints ----------------------------------------------------------------------------
    def extra_state(self) -> dict:
        return {"optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "noise": self.noise.get_state()}

    def load_extra_state(self, state: dict) -> None:
        for key, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][key])
        self.noise.set_state(state["noise"])

    def save_best(self, record: dict) -> None:
        codes = code_gaussian(self.model, self.train_images) if isinstance(self.model, Autoencoder) else None
        save_model(self.out, model_state(self.model, self.cfg, self.shape, record, codes))

    def summary(self) -> dict:
        from seqlab.generative.models import load_model

        best, _, state = load_model(self.out, self.device)
        test = score(best, self.data.test, self.cfg.seed + 2, self.cfg.eval_samples)
        return {"model": str(self.out / MODEL_FILE), "kind": self.cfg.model, "epochs": self.epoch,
                "steps": self.step_count, "best_epoch": state["metrics"].get("epoch"),
                "best_valid_score": -self.best_key[0] if self.best_key else math.inf,
                **{f"test_{k}": v for k, v in test.items()}, "history": self.history}


def train_generative(cfg: GenerativeConfig, out_dir: str | os.PathLike, device: torch.device, resume: bool = False,
                     quiet: bool = False, log: Callable[[str], None] | None = None,
                     data: ImageData | None = None) -> dict:
    """Train (or with ``resume`` continue) a model into ``out_dir``; returns the run's summary."""
    with claim_output(out_dir, directory=True) as out:
        state = None
        if resume:
            state = load_training_state(out / LAST_FILE, TRAIN_KIND, "generative")
            saved = GenerativeConfig(**state["config"])
            shape = (1, 8, 8)
            check_same_architecture(saved.model == cfg.model and saved.model_config(shape) == cfg.model_config(shape),
                                    out / LAST_FILE)
        trainer = GenerativeTrainer(cfg, out, device, data=data, quiet=quiet, log=log)
        if state:
            trainer.load_state(state)
        return trainer.fit()
