"""A trained generative model on disk: build, save, load, and draw samples.

A model directory holds ``model.safetensors`` (weights, the run's settings, the image shape, the run's
metrics; written atomically) and ``config.toml``. An autoencoder has no prior to sample from, so
its artefact also keeps the mean and covariance of its training codes: its "samples" decode draws
from that Gaussian (a crude generator, for comparison with the VAE).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from torch import nn

from seqlab.device import resolve_device
from seqlab.errors import DataError
from seqlab.generative.autoencoder import Autoencoder
from seqlab.generative.config import GenerativeConfig
from seqlab.generative.gan import GAN
from seqlab.generative.vae import VAE
from seqlab.io import incompatible_checkpoint, load_model_dir, save_model_dir

MODEL_KIND = "generative-model"
MODEL_FILE = "model.safetensors"


def build_model(cfg: GenerativeConfig, shape: tuple[int, int, int]) -> nn.Module:
    """An untrained Autoencoder, VAE or GAN for images shaped (C, H, W)."""
    arch = cfg.model_config(shape)
    return {"ae": Autoencoder, "vae": VAE, "gan": GAN}[cfg.model](arch)


@torch.no_grad()
def code_gaussian(model: Autoencoder, images: torch.Tensor, batch_size: int = 512) -> dict[str, torch.Tensor]:
    """Mean (code,) and covariance (code, code) of an autoencoder's codes of ``images``."""
    codes = torch.cat([model.encode(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
    return {"mean": codes.mean(0).cpu(), "cov": torch.cov(codes.T).reshape(codes.shape[1], -1).cpu()}


def model_state(model: nn.Module, cfg: GenerativeConfig, shape: tuple[int, int, int], metrics: dict | None = None,
                codes: dict[str, torch.Tensor] | None = None) -> dict:
    """Everything :func:`load_model` needs."""
    return {"kind": MODEL_KIND, "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "config": dataclasses.asdict(cfg), "shape": list(shape), "metrics": metrics or {}, "codes": codes}


def save_model(path: str | os.PathLike, state: dict) -> Path:
    """Write a model state into directory ``path`` as model.safetensors, atomically."""
    return save_model_dir(path, state, MODEL_FILE)


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[nn.Module, GenerativeConfig, dict]:
    """(model in eval mode on ``device`` (``auto``, ``cpu``, ``cuda[:N]``), its settings, the whole saved state)
    from a model directory or file."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such model (train one with: seqlab generative train --config ... -o {p})")
    file, state = load_model_dir(p, MODEL_KIND, "generative", MODEL_FILE)
    with incompatible_checkpoint(file, "generative"):
        cfg = GenerativeConfig(**state["config"])
        model = build_model(cfg, tuple(state["shape"]))
        model.load_state_dict(state["model"])
    return model.to(resolve_device(device)).eval(), cfg, state


@torch.no_grad()
def sample_images(model: nn.Module, n: int, shape: tuple[int, int, int], generator: torch.Generator | None = None,
                  codes: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """n images (n, C, H, W) in [0, 1]: VAE decoder means at z ~ N(0, I), GAN generator outputs, or an
    autoencoder's decoding of draws from the Gaussian of its training codes (``codes``)."""
    if isinstance(model, (VAE, GAN)):
        return model.sample(n, generator).reshape(n, *shape)
    if codes is None:
        raise DataError("this autoencoder was saved without its code statistics; it cannot be sampled")
    device = next(model.parameters()).device
    mean, cov = codes["mean"].to(device), codes["cov"].to(device)
    chol = torch.linalg.cholesky(cov + 1e-5 * torch.eye(len(mean), device=device))
    z = mean + torch.randn(n, len(mean), generator=generator, device=device) @ chol.T
    return model.mean(model.decode(z)).clamp(0, 1).reshape(n, *shape)
