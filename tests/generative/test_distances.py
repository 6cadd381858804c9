"""Distances against scipy, torch.distributions, brute force and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scipy.spatial.distance import mahalanobis as scipy_mahalanobis
from scipy.stats import entropy, ks_2samp

from seqlab.errors import ConfigError
from seqlab.generative.distances import (
    kl_histogram,
    kl_normal,
    kl_normal_diagonal,
    ks_statistic,
    mahalanobis,
    mmd,
)


def _mmd_reference(x: np.ndarray, y: np.ndarray, sigmas: list[float], unbiased: bool) -> float:
    def k(a, b):
        d2 = cdist(a, b, "sqeuclidean")
        return sum(np.exp(-d2 / (2 * s * s)) for s in sigmas)

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    n, m = len(x), len(y)
    if unbiased:
        return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                - 2 * kxy.mean())
    return kxx.mean() + kyy.mean() - 2 * kxy.mean()


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("sigmas", [[1.0], [0.5, 1.0, 2.0, 4.0]])
def test_mmd_equals_brute_force_with_scipy_distances(unbiased, sigmas):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 5)), rng.normal(0.3, 1.2, size=(31, 5))
    got = mmd(torch.from_numpy(x), torch.from_numpy(y), sigmas, unbiased=unbiased)
    assert float(got) == pytest.approx(_mmd_reference(x, y, sigmas, unbiased), rel=1e-9, abs=1e-12)


def test_mmd_batched_and_median_heuristic():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3, 20, 4)), rng.normal(size=(3, 25, 4)) + np.array([0.0, 1.0, 3.0])[:, None, None]
    batched = mmd(torch.from_numpy(x), torch.from_numpy(y), [1.0, 2.0])
    singles = [float(mmd(torch.from_numpy(x[i]), torch.from_numpy(y[i]), [1.0, 2.0])) for i in range(3)]
    assert batched.tolist() == pytest.approx(singles, rel=1e-10)
    assert batched[0] < batched[1] < batched[2]  # farther apart, larger
    z = np.concatenate([x[0], y[0]])
    d = cdist(z, z)
    median = np.median(d[~np.eye(len(z), dtype=bool)])
    heuristic = mmd(torch.from_numpy(x[0]), torch.from_numpy(y[0]))
    assert float(heuristic) == pytest.approx(_mmd_reference(x[0], y[0], [median], False), rel=1e-9)


def test_unbiased_mmd_is_near_zero_for_the_same_distribution_and_biased_is_not():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 3, generator=gen), torch.randn(200, 3, generator=gen)
    assert abs(float(mmd(x, y, [1.0], unbiased=True))) < 0.01
    assert float(mmd(x, y, [1.0])) > float(mmd(x, y, [1.0], unbiased=True))
    with pytest.raises(ConfigError, match="at least 2"):
        mmd(x[:1], y, [1.0], unbiased=True)


def test_kl_between_gaussians_matches_torch_distributions_and_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    k = 3
    a, b = torch.randn(k, k, generator=gen, dtype=torch.float64), torch.randn(k, k, generator=gen, dtype=torch.float64)
    cov_p, cov_q = a @ a.T + 0.5 * torch.eye(k, dtype=torch.float64), b @ b.T + 0.5 * torch.eye(k, dtype=torch.float64)
    mean_p, mean_q = torch.randn(k, generator=gen, dtype=torch.float64), torch.randn(k, generator=gen,
                                                                                     dtype=torch.float64)
    p = torch.distributions.MultivariateNormal(mean_p, cov_p)
    q = torch.distributions.MultivariateNormal(mean_q, cov_q)
    analytic = kl_normal(mean_p, cov_p, mean_q, cov_q)
    assert float(analytic) == pytest.approx(float(torch.distributions.kl_divergence(p, q)), rel=1e-10)
    torch.manual_seed(0)
    z = p.sample((200_000,))
    monte_carlo = (p.log_prob(z) - q.log_prob(z)).mean()
    assert float(analytic) == pytest.approx(float(monte_carlo), rel=0.02)


def test_diagonal_kl_equals_full_kl_and_the_standard_normal_default():
    gen = torch.Generator().manual_seed(1)
    mp, mq = torch.randn(4, 5, generator=gen, dtype=torch.float64), torch.randn(4, 5, generator=gen,
                                                                                dtype=torch.float64)
    lp, lq = torch.randn(4, 5, generator=gen, dtype=torch.float64), torch.randn(4, 5, generator=gen,
                                                                                dtype=torch.float64)
    diag = kl_normal_diagonal(mp, lp, mq, lq)
    full = kl_normal(mp, torch.diag_embed(lp.exp()), mq, torch.diag_embed(lq.exp()))
    assert torch.allclose(diag, full, rtol=1e-10)
    hand = 0.5 * (mp.square() + lp.exp() - lp - 1).sum(-1)  # Kingma & Welling, appendix B
    assert torch.allclose(kl_normal_diagonal(mp, lp), hand, rtol=1e-12)


def test_histogram_kl_equals_scipy_entropy():
    rng = np.random.default_rng(2)
    p, q = rng.integers(0, 10, size=(6, 12)).astype(float), rng.integers(1, 10, size=(6, 12)).astype(float)
    p[:, 0] = 0  # zero bins of p add nothing
    got = kl_histogram(torch.from_numpy(p), torch.from_numpy(q))
    assert got.tolist() == pytest.approx([entropy(p[i], q[i]) for i in range(6)], rel=1e-10)
    assert float(kl_histogram(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0]))) == float("inf")


@pytest.mark.parametrize("n,m,ties", [(30, 45, False), (50, 50, True), (1, 7, False)])
def test_ks_statistic_equals_scipy_ks_2samp(n, m, ties):
    rng = np.random.default_rng(n + m)
    x, y = rng.normal(size=(4, n)), rng.normal(0.3, 1.0, size=(4, m))
    if ties:
        x, y = np.round(x, 1), np.round(y, 1)
    got = ks_statistic(torch.from_numpy(x), torch.from_numpy(y))
    assert got.tolist() == pytest.approx([ks_2samp(x[i], y[i]).statistic for i in range(4)], abs=1e-12)


def test_mahalanobis_equals_scipy():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(100, 4)) @ rng.normal(size=(4, 4))
    vi = np.linalg.inv(np.cov(data.T))
    u, v = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    got = mahalanobis(torch.from_numpy(u), torch.from_numpy(v), torch.from_numpy(vi))
    assert got.tolist() == pytest.approx([scipy_mahalanobis(u[i], v[i], vi) for i in range(10)], rel=1e-10)
