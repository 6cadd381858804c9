"""The variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes", sec. 2-3, app. B-C).

A Gaussian encoder q(z | x) = N(mu(x), diag sigma^2(x)) and a decoder p(x | z), Bernoulli (logits) or
Gaussian (mean, with a learned per-pixel log-variance), with the prior p(z) = N(0, I). Training
maximises the evidence lower bound

    ELBO(x) = E_q[log p(x | z)] - beta KL(q(z | x) || p(z)) <= log p(x)      (beta = 1: the bound)
    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)                    (analytic, app. B)

estimating the expectation with z = mu + sigma * eps, eps ~ N(0, I) (the reparameterisation trick),
so the gradient flows through mu and sigma. beta != 1 is Higgins et al. 2017's beta-VAE. Samples are
decoder means at z ~ N(0, I); interpolations decode points on the line between two posterior means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import ConfigError
from seqlab.generative.distances import kl_normal_diagonal

DECODERS = ("bernoulli", "gaussian")


@dataclass(frozen=True)
class VAEConfig:
    input_size: int = 64
    latent_size: int = 8
    hidden_size: int = 256
    num_layers: int = 1  # hidden ReLU layers in the encoder (mirrored in the decoder)
    decoder: str = "bernoulli"
    beta: float = 1.0

    def validate(self) -> None:
        if min(self.input_size, self.latent_size, self.hidden_size) < 1 or self.num_layers < 0:
            raise ConfigError("VAE sizes must be >= 1 and num_layers >= 0")
        if self.decoder not in DECODERS:
            raise ConfigError(f"decoder must be one of {', '.join(DECODERS)}, got {self.decoder!r}")
        if self.beta < 0:
            raise ConfigError("beta must be >= 0")


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mean + exp(logvar / 2) * eps with eps ~ N(0, I), differentiable in mean and logvar."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + torch.exp(0.5 * logvar) * eps


class VAE(nn.Module):
    """images (batch, ...) of ``input_size`` values -> q(z|x) and p(x|z)."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        hidden = [cfg.hidden_size] * cfg.num_layers
        self.encoder = _mlp([cfg.input_size, *hidden, 2 * cfg.latent_size])
        self.decoder = _mlp([cfg.latent_size, *hidden, cfg.input_size])
        self.logvar_x = nn.Parameter(torch.zeros(cfg.input_size)) if cfg.decoder == "gaussian" else None

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (batch, ...) -> the posterior's mean and log-variance, each (batch, latent_size)."""
        mean, logvar = self.encoder(x.flatten(1)).chunk(2, dim=-1)
        return mean, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (batch, latent_size) -> the decoder's logits (Bernoulli) or means (Gaussian), (batch, input_size)."""
        return self.decoder(z)

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output) if self.cfg.decoder == "bernoulli" else output

    def log_likelihood(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per example from decoder outputs (batch, input_size) -> (batch,)."""
        if self.cfg.decoder == "bernoulli":
            return -F.binary_cross_entropy_with_logits(output, x, reduction="none").sum(-1)
        logvar = self.logvar_x
        return -0.5 * (math.log(2 * math.pi) + logvar + (x - output).square() / logvar.exp()).sum(-1)

    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None,
             samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """(E_q[log p(x|z)] estimated with ``samples`` draws, analytic KL(q || p)), each (batch,)."""
        flat = x.flatten(1)
        mean, logvar = self.encode(flat)
        kl = kl_normal_diagonal(mean, logvar)
        rec = torch.zeros_like(kl)
        for _ in range(samples):
            rec = rec + self.log_likelihood(self.decode(reparameterize(mean, logvar, generator)), flat)
        return rec / samples, kl

    def loss(self, x: torch.Tensor,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """-(E_q[log p(x|z)] - beta KL) averaged over the batch, and its parts (detached)."""
        rec, kl = self.elbo(x, generator)
        loss = -(rec - self.cfg.beta * kl).mean()
        return loss, {"reconstruction": -rec.mean().detach(), "kl": kl.mean().detach()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of x through the posterior mean, shaped as x."""
        mean, _ = self.encode(x)
        return self.mean(self.decode(mean)).view_as(x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n decoder means at z ~ N(0, I): (n, input_size)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.cfg.latent_size, generator=generator, device=device)
        return self.mean(self.decode(z))

    @torch.no_grad()
    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Decoder means along the line between the posterior means of images a and b: (steps, input_size)."""
        za, _ = self.encode(a.reshape(1, -1))
        zb, _ = self.encode(b.reshape(1, -1))
        t = torch.linspace(0, 1, steps, device=za.device).unsqueeze(1)
        return self.mean(self.decode((1 - t) * za + t * zb))
