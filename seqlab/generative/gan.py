"""Generative adversarial networks (Goodfellow et al. 2014, "Generative Adversarial Nets", alg. 1).

A generator G maps noise z ~ N(0, I) to images in [0, 1]; a discriminator D gives a logit l with
D = sigmoid(l) the probability that its input is real. With alternating updates (k discriminator
steps, then one generator step) they play

    D maximises  E_x log D(x) + E_z log(1 - D(G(z)))
                 i.e. minimises softplus(-l_real) + softplus(l_fake)      (the binary cross-entropy)
    G minimises  -log D(G(z)) = softplus(-l_fake)                          (non-saturating, sec. 3)
    or, as in the minimax game, log(1 - D(G(z))) = -softplus(l_fake)       (saturating)

The non-saturating loss has the same fixed point but strong gradients while D rejects G's samples
early in training (d/dl of -log sigmoid(l) is -(1 - D), not -D). Two architectures: MLPs with
LeakyReLU, and a DCGAN-style pair (Radford et al. 2016): strided (transposed) 4x4 convolutions
instead of pooling, batch normalisation in G, LeakyReLU(0.2) in D.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import ConfigError

ARCHITECTURES = ("mlp", "conv")


@dataclass(frozen=True)
class GANConfig:
    image_size: int = 8
    channels: int = 1
    latent_size: int = 16
    architecture: str = "mlp"
    hidden_size: int = 256  # mlp
    base_channels: int = 32  # conv: channels of the widest feature map
    non_saturating: bool = True

    def validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        if min(self.image_size, self.channels, self.latent_size, self.hidden_size, self.base_channels) < 1:
            raise ConfigError("GAN sizes must be >= 1")
        if self.architecture == "conv" and self.image_size % 4:
            raise ConfigError(f"the conv GAN upsamples twice by 2: image_size must be a multiple of 4, "
                              f"got {self.image_size}")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-[log D(x) + log(1 - D(G(z)))] averaged: softplus(-l_real).mean() + softplus(l_fake).mean()."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, non_saturating: bool = True) -> torch.Tensor:
    """-log D(G(z)) (non-saturating) or log(1 - D(G(z))) (saturating), averaged over the batch."""
    return F.softplus(-fake_logits).mean() if non_saturating else -F.softplus(fake_logits).mean()


class Generator(nn.Module):
    """z (batch, latent_size) -> images (batch, channels, size, size) in [0, 1]."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, s = cfg.channels, cfg.image_size
        if cfg.architecture == "mlp":
            h = cfg.hidden_size
            self.net = nn.Sequential(nn.Linear(cfg.latent_size, h), nn.LeakyReLU(0.2), nn.Linear(h, h),
                                     nn.LeakyReLU(0.2), nn.Linear(h, c * s * s))
        else:
            b = cfg.base_channels
            self.net = nn.Sequential(
                nn.Linear(cfg.latent_size, b * (s // 4) ** 2, bias=False), nn.Unflatten(1, (b, s // 4, s // 4)),
                nn.BatchNorm2d(b), nn.ReLU(),
                nn.ConvTranspose2d(b, b // 2, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(b // 2), nn.ReLU(),
                nn.ConvTranspose2d(b // 2, c, 4, stride=2, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z)).view(-1, *self.cfg.image_shape)


class Discriminator(nn.Module):
    """images (batch, channels, size, size) -> logits (batch,)."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        c, s = cfg.channels, cfg.image_size
        if cfg.architecture == "mlp":
            h = cfg.hidden_size
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(c * s * s, h), nn.LeakyReLU(0.2), nn.Linear(h, h),
                                     nn.LeakyReLU(0.2), nn.Linear(h, 1))
        else:
            b = cfg.base_channels
            self.net = nn.Sequential(
                nn.Conv2d(c, b // 2, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Conv2d(b // 2, b, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                nn.Flatten(), nn.Linear(b * (s // 4) ** 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class GAN(nn.Module):
    """A generator and its discriminator, trained by :meth:`step` with alternating updates."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.generator = Generator(cfg)
        self.discriminator = Discriminator(cfg)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return torch.randn(n, self.cfg.latent_size, generator=generator, device=device)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, channels, size, size) from G in eval mode (batch-norm running statistics)."""
        was_training = self.generator.training
        self.generator.eval()
        images = self.generator(self.noise(n, generator))
        self.generator.train(was_training)
        return images

    def step(self, real: torch.Tensor, opt_d: torch.optim.Optimizer, opt_g: torch.optim.Optimizer,
             generator: torch.Generator | None = None, d_steps: int = 1, *,
             nets: tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]] | None = None,
             draw: Callable[[], torch.Tensor] | None = None, scale: float = 1.0) -> dict[str, torch.Tensor]:
        """``d_steps`` discriminator updates on ``real`` (batch, c, h, w) and fresh fakes, then one generator
        update; returns the last losses (detached) and D's mean outputs on real and fake images.

        Data-parallel training (:mod:`seqlab.distributed`) passes ``nets``, the (generator, discriminator)
        to call (their DDP wrappers), ``draw``, which returns this process's latent vectors (its share of the
        global batch's), and ``scale``, which multiplies both losses before their backward passes."""
        n = real.shape[0]
        g_net, d_net = nets or (self.generator, self.discriminator)
        draw = draw or (lambda: self.noise(n, generator))
        for _ in range(d_steps):
            with torch.no_grad():
                fake = g_net(draw())
            real_logits, fake_logits = d_net(real), d_net(fake)
            d_loss = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            (d_loss * scale).backward()
            opt_d.step()
        fake_logits = d_net(g_net(draw()))
        g_loss = generator_loss(fake_logits, self.cfg.non_saturating)
        opt_g.zero_grad(set_to_none=True)
        (g_loss * scale).backward()
        opt_g.step()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": torch.sigmoid(real_logits).mean().detach(),
                "d_fake": torch.sigmoid(fake_logits).mean().detach()}
