"""word2vec's random choices: subsampling probabilities, the noise distribution and its alias
sampler, and the dynamic window."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from seqlab.embeddings.sampling import (
    NoiseSampler,
    alias_table,
    keep_probabilities,
    noise_distribution,
    reduced_windows,
)

CPU = torch.device("cpu")


def test_keep_probabilities_hand_worked():
    # word2vec.c: keep = (sqrt(c / (s T)) + 1) * (s T) / c with T = 100 words, s = 0.04, so s T = 4:
    #   c = 64: (sqrt(16) + 1) * 4 / 64 = 5 * 4 / 64 = 0.3125
    #   c = 16: (sqrt(4) + 1) * 4 / 16 = 3 * 4 / 16 = 0.75
    #   c = 4:  (sqrt(1) + 1) * 4 / 4 = 2 -> capped at 1
    keep = keep_probabilities(np.array([64, 16, 16, 4]), 0.04)
    np.testing.assert_allclose(keep, [0.3125, 0.75, 0.75, 1.0], rtol=1e-12)
    assert keep.dtype == np.float64


def test_keep_probabilities_word2vec_c_formula_and_cap():
    counts = np.array([50_000, 7_000, 900, 120, 30, 5, 1])
    sample = 1e-3
    st = sample * counts.sum()
    expected = [min(1.0, (np.sqrt(c / st) + 1) * st / c) for c in counts]
    keep = keep_probabilities(counts, sample)
    np.testing.assert_allclose(keep, expected, rtol=1e-12)
    assert keep[0] < 0.25 and keep[-1] == 1.0 and np.all(np.diff(keep) >= 0)


@pytest.mark.parametrize("sample", [0.0, -1.0])
def test_no_subsampling(sample):
    np.testing.assert_array_equal(keep_probabilities(np.array([10**6, 10, 1]), sample), [1.0, 1.0, 1.0])


def test_noise_distribution_is_count_to_the_three_quarters():
    # 1, 16, 81 ** 0.75 = 1, 8, 27; total 36
    np.testing.assert_allclose(noise_distribution(np.array([1, 16, 81])), [1 / 36, 8 / 36, 27 / 36], rtol=1e-12)
    np.testing.assert_allclose(noise_distribution(np.array([1, 16, 81]), exponent=1.0), [1 / 98, 16 / 98, 81 / 98])
    np.testing.assert_allclose(noise_distribution(np.array([5, 500]), exponent=0.0), [0.5, 0.5])


def zipf_counts(size: int = 60) -> np.ndarray:
    return (100_000 / np.arange(1, size + 1) ** 1.1).astype(np.int64) + 1


def test_alias_table_represents_the_distribution_exactly():
    probs = noise_distribution(zipf_counts())
    prob, alias = alias_table(probs)
    n = len(probs)
    # P(word) = (prob[word] + sum of (1 - prob[j]) over the columns j aliased to it) / n
    implied = prob.copy()
    np.add.at(implied, alias, 1.0 - prob)
    np.testing.assert_allclose(implied / n, probs, atol=1e-12)
    assert np.all((prob >= 0) & (prob <= 1))


def test_noise_sampler_frequencies_match_the_distribution():
    counts = zipf_counts()
    probs = noise_distribution(counts)
    sampler = NoiseSampler(counts, 0.75, CPU)
    gen = torch.Generator().manual_seed(0)
    draws = sampler.sample((1000, 1000), gen)
    assert draws.shape == (1000, 1000) and draws.dtype == torch.int64
    observed = np.bincount(draws.reshape(-1).numpy(), minlength=len(counts))
    assert observed.sum() == 10**6
    expected = probs * 10**6
    # a fixed seed makes this deterministic; the 0.9999 quantile leaves room for any seed
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < stats.chi2.ppf(0.9999, len(counts) - 1)
    assert np.max(np.abs(observed / 10**6 - probs)) < 2e-3
    # the rarest word (p ~ 0.2%) comes out at its own rate, not rounded as in a fixed-size table
    assert abs(observed[-1] - expected[-1]) < 5 * np.sqrt(expected[-1])


def test_noise_sampler_reproducible_with_a_seed():
    sampler = NoiseSampler(zipf_counts(), 0.75, CPU)
    a = sampler.sample((50, 5), torch.Generator().manual_seed(7))
    b = sampler.sample((50, 5), torch.Generator().manual_seed(7))
    c = sampler.sample((50, 5), torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_reduced_windows_uniform_in_one_to_window():
    gen = torch.Generator().manual_seed(0)
    b = reduced_windows(100_000, 5, gen, CPU)
    assert b.shape == (100_000,) and b.dtype == torch.int64
    assert int(b.min()) == 1 and int(b.max()) == 5
    share = np.bincount(b.numpy(), minlength=6)[1:] / 100_000
    np.testing.assert_allclose(share, 0.2, atol=0.01)
    assert torch.equal(reduced_windows(1000, 1, gen, CPU), torch.ones(1000, dtype=torch.int64))


def test_reduced_windows_reproducible_with_a_seed():
    a = reduced_windows(200, 8, torch.Generator().manual_seed(3), CPU)
    b = reduced_windows(200, 8, torch.Generator().manual_seed(3), CPU)
    c = reduced_windows(200, 8, torch.Generator().manual_seed(4), CPU)
    assert torch.equal(a, b) and not torch.equal(a, c)
