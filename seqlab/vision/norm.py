"""Batch and instance normalisation, written out (Ioffe & Szegedy 2015; Ulyanov et al. 2016).

Both standardise each channel with a mean and a (biased) variance and then apply a learned affine
map, ``y = (x - mu) / sqrt(var + eps) * gamma + beta``; they differ in what the statistics are
taken over:

- BatchNorm: over the batch and every spatial position, ``mu_c = mean_{n,h,w} x[n,c,h,w]``, while
  training. It keeps running estimates ``m <- (1 - momentum) m + momentum * mu`` (and the same for
  the *unbiased* variance) and uses them at test time (Ioffe & Szegedy 2015, Algorithm 1-2).
  ``momentum=None`` keeps a cumulative average instead, as torch does.
- InstanceNorm: per sample and channel, over the spatial positions only,
  ``mu_{n,c} = mean_{h,w} x[n,c,h,w]``, the same at train and test time (Ulyanov et al. 2016,
  "Instance Normalization: The Missing Ingredient for Fast Stylization", eq. 2).

Parameter and buffer names follow torch.nn (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``), so state dicts load both ways; autograd gives the backward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import ConfigError


def normalize(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, eps: float) -> torch.Tensor:
    """``(x - mean) / sqrt(var + eps)``; mean and var broadcast against x."""
    return (x - mean) * torch.rsqrt(var + eps)


class _Norm(nn.Module):
    spatial_dims: int = 1

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.affine = num_features, eps, affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def _check(self, x: torch.Tensor, allowed: tuple[int, ...], channel_dim: int) -> None:
        if x.dim() not in allowed or x.shape[channel_dim] != self.num_features:
            raise ConfigError(f"{type(self).__name__}({self.num_features}): expected an input of {allowed} dims "
                              f"with {self.num_features} channels, got shape {tuple(x.shape)}")

    def _affine(self, y: torch.Tensor, channel_dim: int) -> torch.Tensor:
        if not self.affine:
            return y
        shape = [1] * y.dim()
        shape[channel_dim] = self.num_features
        return y * self.weight.view(shape) + self.bias.view(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"


class _BatchNorm(_Norm):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__(num_features, eps, affine)
        self.momentum, self.track_running_stats = momentum, track_running_stats
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C) or (N, C, L) for BatchNorm1d, (N, C, H, W) for BatchNorm2d; same shape out."""
        self._check(x, (2, 3) if self.spatial_dims == 1 else (4,), 1)
        dims = [0, *range(2, x.dim())]
        shape = [1, self.num_features] + [1] * (x.dim() - 2)
        if self.training or not self.track_running_stats:
            count = x.numel() // self.num_features
            if self.training and count <= 1:
                raise ConfigError(f"{type(self).__name__}: expected more than 1 value per channel when training, "
                                  f"got input of shape {tuple(x.shape)}")
            var, mean = torch.var_mean(x, dim=dims, correction=0)
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked += 1
                    factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum)
                    self.running_mean.mul_(1 - factor).add_(factor * mean)
                    self.running_var.mul_(1 - factor).add_(factor * var * count / (count - 1))
            y = normalize(x, mean.view(shape), var.view(shape), self.eps)
        else:
            y = normalize(x, self.running_mean.view(shape), self.running_var.view(shape), self.eps)
        return self._affine(y, 1)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, momentum={self.momentum}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs (statistics over N and L)."""

    spatial_dims = 1


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs (statistics over N, H and W)."""

    spatial_dims = 2


class _InstanceNorm(_Norm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, *spatial) or unbatched (C, *spatial); statistics over the spatial dims only."""
        self._check(x, (self.spatial_dims + 1, self.spatial_dims + 2), x.dim() - self.spatial_dims - 1)
        dims = list(range(x.dim() - self.spatial_dims, x.dim()))
        var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)
        return self._affine(normalize(x, mean, var, self.eps), x.dim() - self.spatial_dims - 1)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) inputs (statistics over L per sample and channel).

    Like torch's default (``affine=False``); no running statistics: train and test are the same.
    """

    spatial_dims = 1

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__(num_features, eps, affine)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) inputs (statistics over H, W)."""

    spatial_dims = 2

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__(num_features, eps, affine)
