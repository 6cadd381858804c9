"""Distances between distributions and samples, batched in torch (CPU or GPU).

* Maximum mean discrepancy (Gretton et al. 2012, JMLR, eqs. 3 and 5) with the Gaussian kernel
  k(x, y) = exp(-||x - y||^2 / (2 s^2)), or a sum of them over several bandwidths s ("multi-scale"):
  biased MMD^2_b = mean K_xx + mean K_yy - 2 mean K_xy (all pairs, a V-statistic, >= 0) and
  unbiased MMD^2_u, the same with the diagonals of K_xx and K_yy left out (a U-statistic, can be < 0).
* KL(p || q) between Gaussians: 1/2 [tr(S_q^-1 S_p) + (m_q - m_p)' S_q^-1 (m_q - m_p) - k
  + ln det S_q - ln det S_p] (full covariances, or diagonal ones given as log-variances), and between
  discrete histograms: sum_i p_i ln(p_i / q_i) after normalising (as scipy.stats.entropy(p, q)).
* The two-sample Kolmogorov-Smirnov statistic D = sup_t |F_x(t) - F_y(t)| of the empirical CDFs
  (the statistic of scipy.stats.ks_2samp).
* The Mahalanobis distance sqrt((u - v)' V^-1 (u - v)) (scipy.spatial.distance.mahalanobis).

Leading dimensions are batch dimensions: e.g. ``mmd(x, y)`` with x (B, n, d) and y (B, m, d) gives B
values, ``ks_statistic`` with x (B, n), y (B, m) gives B statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqlab.errors import ConfigError


def squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """All squared Euclidean distances: x (..., n, d), y (..., m, d) -> (..., n, m), clamped at 0."""
    xx = (x * x).sum(-1, keepdim=True)
    yy = (y * y).sum(-1).unsqueeze(-2)
    return (xx + yy - 2.0 * x @ y.transpose(-1, -2)).clamp_min(0.0)


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The median heuristic: the median distance between distinct points of x and y pooled, (...,)."""
    z = torch.cat([x, y], dim=-2)
    d2 = squared_distances(z, z)
    rows, cols = torch.triu_indices(z.shape[-2], z.shape[-2], offset=1, device=z.device)
    return d2[..., rows, cols].sqrt().quantile(0.5, dim=-1).clamp_min(1e-12)  # as numpy.median: midpoint


def gaussian_kernel(d2: torch.Tensor, bandwidths: torch.Tensor) -> torch.Tensor:
    """sum_s exp(-d2 / (2 s^2)) for squared distances d2 (..., n, m) and bandwidths (..., S)."""
    scale = 1.0 / (2.0 * bandwidths.square())  # (..., S)
    return torch.exp(-d2.unsqueeze(-1) * scale[..., None, None, :]).sum(-1)


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidths: float | Sequence[float] | torch.Tensor | None = None,
        unbiased: bool = False) -> torch.Tensor:
    """MMD^2 between samples x (..., n, d) and y (..., m, d) with a Gaussian kernel -> (...,).

    ``bandwidths``: one s, several (a multi-scale kernel: the sum of their kernels), or None for the
    median heuristic (the median pairwise distance of the pooled samples). ``unbiased`` leaves out
    the diagonals of K_xx and K_yy (needs n, m >= 2).
    """
    if x.shape[-1] != y.shape[-1]:
        raise ConfigError(f"mmd: samples of dimension {x.shape[-1]} and {y.shape[-1]} cannot be compared")
    n, m = x.shape[-2], y.shape[-2]
    if unbiased and min(n, m) < 2:
        raise ConfigError("mmd: the unbiased estimator needs at least 2 points in each sample")
    if bandwidths is None:
        s = median_bandwidth(x, y).unsqueeze(-1)
    else:
        s = torch.as_tensor(bandwidths, dtype=x.dtype, device=x.device).reshape(-1)
        if (s <= 0).any():
            raise ConfigError("mmd: bandwidths must be positive")
    kxx = gaussian_kernel(squared_distances(x, x), s)
    kyy = gaussian_kernel(squared_distances(y, y), s)
    kxy = gaussian_kernel(squared_distances(x, y), s)
    if unbiased:
        sxx = (kxx.sum((-1, -2)) - kxx.diagonal(dim1=-2, dim2=-1).sum(-1)) / (n * (n - 1))
        syy = (kyy.sum((-1, -2)) - kyy.diagonal(dim1=-2, dim2=-1).sum(-1)) / (m * (m - 1))
    else:
        sxx, syy = kxx.mean((-1, -2)), kyy.mean((-1, -2))
    return sxx + syy - 2.0 * kxy.mean((-1, -2))


def kl_normal_diagonal(mean_p: torch.Tensor, logvar_p: torch.Tensor, mean_q: torch.Tensor | None = None,
                       logvar_q: torch.Tensor | None = None) -> torch.Tensor:
    """KL(N(m_p, diag e^lv_p) || N(m_q, diag e^lv_q)) summed over the last dimension; q = N(0, I) when omitted."""
    if mean_q is None:
        mean_q = torch.zeros_like(mean_p)
    if logvar_q is None:
        logvar_q = torch.zeros_like(logvar_p)
    terms = logvar_q - logvar_p + (logvar_p.exp() + (mean_p - mean_q).square()) / logvar_q.exp() - 1.0
    return 0.5 * terms.sum(-1)


def kl_normal(mean_p: torch.Tensor, cov_p: torch.Tensor, mean_q: torch.Tensor, cov_q: torch.Tensor) -> torch.Tensor:
    """KL(N(m_p, S_p) || N(m_q, S_q)) for full covariances: means (..., k), covariances (..., k, k) -> (...,)."""
    k = mean_p.shape[-1]
    chol_q = torch.linalg.cholesky(cov_q)
    chol_p = torch.linalg.cholesky(cov_p)
    diff = (mean_q - mean_p).unsqueeze(-1)
    solved = torch.cholesky_solve(torch.cat([cov_p, diff], dim=-1), chol_q)  # S_q^-1 [S_p, diff]
    trace = solved[..., :k].diagonal(dim1=-2, dim2=-1).sum(-1)
    quad = (diff * solved[..., k:]).sum((-1, -2))
    logdet_q = 2.0 * chol_q.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    logdet_p = 2.0 * chol_p.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return 0.5 * (trace + quad - k + logdet_q - logdet_p)


def kl_histogram(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) of histograms (..., bins), each normalised to sum 1 first -> (...,).

    Bins with p = 0 add nothing; a bin with p > 0 and q = 0 makes the divergence infinite.
    """
    if p.shape[-1] != q.shape[-1]:
        raise ConfigError(f"kl_histogram: {p.shape[-1]} and {q.shape[-1]} bins")
    if (p < 0).any() or (q < 0).any():
        raise ConfigError("kl_histogram: counts must be non-negative")
    p = p / p.sum(-1, keepdim=True)
    q = q / q.sum(-1, keepdim=True)
    terms = torch.where(p > 0, p * (p.log() - q.log()), torch.zeros_like(p))
    return terms.sum(-1)


def ks_statistic(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Two-sample Kolmogorov-Smirnov D = max |F_x - F_y| for x (..., n) and y (..., m) -> (...,)."""
    if x.shape[-1] == 0 or y.shape[-1] == 0:
        raise ConfigError("ks_statistic: both samples must be non-empty")
    xs, ys = x.sort(-1).values, y.sort(-1).values
    points = torch.cat([xs, ys], dim=-1).contiguous()
    # the empirical CDFs are step functions that jump only at sample points: check them all
    cdf_x = torch.searchsorted(xs.contiguous(), points, right=True).to(x.dtype) / x.shape[-1]
    cdf_y = torch.searchsorted(ys.contiguous(), points, right=True).to(x.dtype) / y.shape[-1]
    return (cdf_x - cdf_y).abs().amax(-1)


def mahalanobis(u: torch.Tensor, v: torch.Tensor, inverse_covariance: torch.Tensor) -> torch.Tensor:
    """sqrt((u - v)' VI (u - v)) for u, v (..., d) and VI (d, d) or (..., d, d) -> (...,)."""
    diff = u - v
    d = diff.shape[-1]
    vi = inverse_covariance.to(diff.dtype).expand(*diff.shape[:-1], d, d)
    quad = (diff.unsqueeze(-2) @ vi @ diff.unsqueeze(-1)).reshape(diff.shape[:-1])
    return quad.clamp_min(0.0).sqrt()

