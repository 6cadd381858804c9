"""Autoencoders: undercomplete/overcomplete, sparse, denoising, contractive, tied weights.

An encoder h = f(x) (an MLP whose layers apply ``activation``) and a decoder r = g(h) (the mirror
MLP, ending in logits for a Bernoulli likelihood or in the mean for a Gaussian one) minimise
(Goodfellow, Bengio & Courville 2016, ch. 14)

    L = -log p(x | g(f(x~))) + Omega(h),      x~ = x, or a corruption of x (denoising, Vincent et al. 2008)

with -log p the binary cross-entropy (Bernoulli) or 1/2 ||x - r||^2 (Gaussian, unit variance), summed
over pixels and averaged over the batch, and the penalty Omega one or more of

* sparse, L1: lambda sum_j |h_j|, or KL (Ng's sparse autoencoder notes): lambda sum_j KL(rho || rho^_j),
  rho^_j the batch mean of h_j in (0, 1);
* contractive (Rifai et al. 2011, eq. 2): lambda ||J_f(x)||_F^2. For a one-layer encoder
  h = s(W x + b) it is exactly sum_j s'(a_j)^2 sum_i W_ji^2 (s' = h(1 - h) for the sigmoid);
  deeper encoders use the Jacobian from autograd (torch.func.jacrev, vectorised over the batch).

``code_size`` < the input size makes it undercomplete, > overcomplete (which needs a penalty or noise
to learn anything but the identity). ``tied`` makes each decoder weight the transpose of the mirrored
encoder weight (decoders keep their own biases).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import ConfigError

ACTIVATIONS = ("sigmoid", "tanh", "relu")
LIKELIHOODS = ("bernoulli", "gaussian")
SPARSITY = ("none", "l1", "kl")
NOISE = ("none", "gaussian", "masking")


@dataclass(frozen=True)
class AutoencoderConfig:
    input_size: int = 64
    code_size: int = 32
    hidden_size: int = 128
    num_layers: int = 0  # hidden layers between the input and the code (0: a one-layer encoder)
    activation: str = "sigmoid"
    likelihood: str = "bernoulli"
    tied: bool = False
    sparsity: str = "none"
    sparsity_weight: float = 1e-3
    sparsity_target: float = 0.05  # rho, for the KL penalty
    noise: str = "none"
    noise_level: float = 0.3  # Gaussian: standard deviation; masking: the share of inputs set to 0
    contractive_weight: float = 0.0

    def validate(self) -> None:
        checks = [
            (min(self.input_size, self.code_size, self.hidden_size) >= 1 and self.num_layers >= 0,
             "sizes must be >= 1 and num_layers >= 0"),
            (self.activation in ACTIVATIONS, f"activation must be one of {', '.join(ACTIVATIONS)}"),
            (self.likelihood in LIKELIHOODS, f"likelihood must be one of {', '.join(LIKELIHOODS)}"),
            (self.sparsity in SPARSITY, f"sparsity must be one of {', '.join(SPARSITY)}"),
            (self.noise in NOISE, f"noise must be one of {', '.join(NOISE)}"),
            (self.sparsity != "kl" or self.activation == "sigmoid",
             "the KL sparsity penalty needs codes in (0, 1): use activation = 'sigmoid'"),
            (0 < self.sparsity_target < 1, "sparsity_target must be in (0, 1)"),
            (self.sparsity_weight >= 0 and self.contractive_weight >= 0 and self.noise_level >= 0,
             "penalty weights and noise_level must be >= 0"),
            (self.noise != "masking" or self.noise_level < 1, "masking noise_level must be below 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


def activate(a: torch.Tensor, name: str) -> torch.Tensor:
    return torch.sigmoid(a) if name == "sigmoid" else torch.tanh(a) if name == "tanh" else torch.relu(a)


def activation_derivative(h: torch.Tensor, name: str) -> torch.Tensor:
    """s'(a) written with h = s(a)."""
    if name == "sigmoid":
        return h * (1.0 - h)
    if name == "tanh":
        return 1.0 - h * h
    return (h > 0).to(h.dtype)


def corrupt(x: torch.Tensor, noise: str, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x~: x plus N(0, level^2) noise ("gaussian"), or x with each entry zeroed with probability level ("masking")."""
    if noise == "none" or level == 0:
        return x
    if noise == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= level
    return x * keep


def reconstruction_loss(output: torch.Tensor, x: torch.Tensor, likelihood: str) -> torch.Tensor:
    """-log p(x | output) per example: output, x (batch, features) -> (batch,).

    Bernoulli: output are logits, the loss is the binary cross-entropy summed over features.
    Gaussian (unit variance, constant dropped): 1/2 ||x - output||^2.
    """
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(output, x, reduction="none").sum(-1)
    return 0.5 * (x - output).square().sum(-1)


def kl_sparsity(codes: torch.Tensor, target: float) -> torch.Tensor:
    """sum_j KL(Bernoulli(rho) || Bernoulli(rho^_j)), rho^_j the batch mean of codes (batch, code) in (0, 1)."""
    rho_hat = codes.mean(0).clamp(1e-6, 1 - 1e-6)
    rho = target
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


class Autoencoder(nn.Module):
    """x (batch, ...) -> code (batch, code_size) -> reconstruction logits/means shaped as x."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        sizes = [cfg.input_size] + [cfg.hidden_size] * cfg.num_layers + [cfg.code_size]
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        back = sizes[::-1]
        if cfg.tied:
            self.decoder_bias = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in back[1:])
            self.decoder = None
        else:
            self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:], strict=True))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, ...) -> codes (batch, code_size)."""
        h = x.flatten(1)
        for layer in self.encoder:
            h = activate(layer(h), self.cfg.activation)
        return h

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """codes (batch, code_size) -> flat logits or means (batch, input_size)."""
        layers = len(self.encoder)
        for i in range(layers):
            if self.cfg.tied:
                h = F.linear(h, self.encoder[layers - 1 - i].weight.t(), self.decoder_bias[i])
            else:
                h = self.decoder[i](h)
            if i < layers - 1:
                h = activate(h, self.cfg.activation)
        return h

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        """The reconstruction (the likelihood's mean) from decoder outputs."""
        return torch.sigmoid(output) if self.cfg.likelihood == "bernoulli" else output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of x, shaped as x."""
        return self.mean(self.decode(self.encode(x))).view_as(x)

    def contractive_penalty(self, x: torch.Tensor, exact: bool | None = None) -> torch.Tensor:
        """||J_f(x)||_F^2 per example (batch,): the closed form for a one-layer encoder, else autograd."""
        flat = x.flatten(1)
        if exact is None:
            exact = len(self.encoder) == 1
        if exact:
            if len(self.encoder) != 1:
                raise ConfigError("the exact contractive penalty needs a one-layer encoder (num_layers = 0)")
            h = self.encode(flat)
            weight = self.encoder[0].weight  # (code, input)
            return activation_derivative(h, self.cfg.activation).square() @ weight.square().sum(1)
        jacobian = torch.func.vmap(torch.func.jacrev(lambda v: self.encode(v.unsqueeze(0)).squeeze(0)))(flat)
        return jacobian.square().sum((-1, -2))

    def loss(self, x: torch.Tensor,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The mean training loss of a batch x (batch, ...) and its parts (detached scalars)."""
        cfg = self.cfg
        flat = x.flatten(1)
        codes = self.encode(corrupt(flat, cfg.noise, cfg.noise_level, generator))
        reconstruction = reconstruction_loss(self.decode(codes), flat, cfg.likelihood).mean()
        total = reconstruction
        parts = {"reconstruction": reconstruction.detach()}
        if cfg.sparsity == "l1":
            sparse = cfg.sparsity_weight * codes.abs().sum(1).mean()
        elif cfg.sparsity == "kl":
            sparse = cfg.sparsity_weight * kl_sparsity(codes, cfg.sparsity_target)
        else:
            sparse = None
        if sparse is not None:
            total = total + sparse
            parts["sparsity"] = sparse.detach()
        if cfg.contractive_weight > 0:
            contractive = cfg.contractive_weight * self.contractive_penalty(flat).mean()
            total = total + contractive
            parts["contractive"] = contractive.detach()
        return total, parts
