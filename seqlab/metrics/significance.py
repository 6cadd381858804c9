"""Paired significance tests and bootstrap confidence intervals for MT metrics, on per-sentence statistics.

A corpus score (BLEU, chrF, TER) is a function of the column sums of per-sentence statistics rows, so a
resampled test set is a weighted sum of rows, and the sums of *all* resamples are one matrix product
``weights (n, S) @ stats (S, D)``; the metric's vectorised formula then scores every resample of every
system at once: in numpy for statistics in a numpy array (the CPU path, which never imports torch), in
torch on the tensor's device for a tensor (a GPU); one formula serves both (:mod:`seqlab.metrics.arrays`).

- Paired bootstrap resampling (Koehn 2004, "Statistical significance tests for machine translation
  evaluation", EMNLP, section 4): draw ``n`` test sets of S sentences with replacement (a weight is how
  often a sentence was drawn) and score the baseline and every system on each. With ``d_i`` the absolute
  score difference on draw i and ``d`` the real one, p = (#{i: d_i - mean(d) > d} + 1) / (n + 1).
- Paired approximate randomisation (Riezler & Maxwell 2005, "On some pitfalls in automatic evaluation
  and significance testing for MT", section 3; Noreen 1989): in each of ``n`` trials, swap the baseline's
  and the system's statistics of each sentence with probability 1/2 (a weight is the swap mask) and
  score both pseudo-systems; p = (#{trials with |a - b| > d} + 1) / (n + 1).
- Confidence (sacrebleu's ``estimate_ci``): the mean of the bootstrap scores and the half-width of their
  central 95%, ``(s[n - n // 40 - 1] - s[n // 40]) / 2`` of the sorted scores ``s``.

This is sacrebleu 2.x's ``significance.py`` (which scores each resample in a Python loop), reproduced:
the draws are numpy's, made as sacrebleu makes them (``np.random.default_rng(seed)``: ``choice(S, (n, S))``
for a bootstrap, ``integers(2, (n, S), dtype=bool)`` and then ``choice`` for AR with confidence), the
arithmetic follows sacrebleu's dtypes (its bootstrap computes from float32 statistics, its AR from
integer ones in float64) and the summaries are numpy's, on the host. For the same seed the p-values,
means and intervals therefore equal sacrebleu's, to the last bit on numpy arrays (whose log and exp are
the C library's, as sacrebleu's); on tensors, torch's log or exp may differ from it by one.
Statistically equivalent but not equal: ``seed=None`` (sacrebleu draws anew for each system, here once
for all), TER with average reference lengths that float32 cannot hold exactly (three or more references
of different lengths: sacrebleu's float32 sums depend on the summation order), and sacrebleu's seed 0
(which it treats as no seed for the compared systems).
"""

from __future__ import annotations

import statistics as stats_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from seqlab.metrics.arrays import Array, cast, host, namespace, to_like

DEFAULT_SEED = 12345  # sacrebleu's (SACREBLEU_SEED)
BOOTSTRAP_SAMPLES = 1000
AR_TRIALS = 10000
SIGNIFICANCE_LEVEL = 0.05
CHUNK_ELEMENTS = 1 << 25  # weights per matrix product: (chunk, S) float64 stays under 256 MB

# (summed statistics (..., D), dtype of the arithmetic: "float32" or "float64") -> scores (...), in the
# dtype sacrebleu's scores have: BLEU float64 whatever its precisions' dtype, chrF and TER the dtype they
# are computed in. Arrays are numpy's or torch's (seqlab.metrics.arrays): the same formula serves both.
ScoreFunction = Callable[[Array, str], Array]


@dataclass(frozen=True)
class Result:
    """One system's score on one metric, as sacrebleu's ``significance.Result``: the corpus score, the
    p-value against the baseline (None for the baseline), the bootstrap mean and 95% CI half-width."""

    score: float
    p_value: float | None = None
    mean: float | None = None
    ci: float | None = None

    @property
    def significant(self) -> bool | None:
        """p <= 0.05, the p-values sacrebleu marks with ``*``; None without a p-value."""
        return None if self.p_value is None else self.p_value <= SIGNIFICANCE_LEVEL

    def to_dict(self) -> dict:
        return {"score": self.score, "p_value": self.p_value, "mean": self.mean, "ci": self.ci,
                "significant": self.significant}


def bootstrap_indices(num_sentences: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_samples, num_sentences) sentence indices drawn with replacement, as sacrebleu draws them."""
    return rng.choice(num_sentences, size=(n_samples, num_sentences), replace=True)


def _chunks(rows: int, width: int) -> list[slice]:
    step = max(1, CHUNK_ELEMENTS // max(width, 1))
    return [slice(start, min(start + step, rows)) for start in range(0, rows, step)]


def _counts(indices: np.ndarray, like: Array) -> Array:
    """How often each sentence was drawn in each resample: (n, S) indices -> (n, S) float64 counts on
    ``like``'s side (one bincount of ``resample * S + sentence``)."""
    rows, sentences = indices.shape
    flat = (indices + np.arange(rows)[:, None] * sentences).reshape(-1)
    xp = namespace(like)
    return cast(xp.bincount(to_like(flat, like), minlength=rows * sentences).reshape(rows, sentences), "float64")


def bootstrap_sums(stats: Array, indices: np.ndarray) -> Array:
    """Column sums of every resample: ``stats`` (K, S, D) of K systems, ``indices`` (n, S) -> (K, n, D)
    float64, beside ``stats`` (numpy, or a tensor on its device). Resamples are weighted sums (draw
    counts @ rows), chunked over n."""
    xp = namespace(stats)
    systems, sentences, width = stats.shape
    rows = cast(stats, "float64").swapaxes(0, 1).reshape(sentences, systems * width)
    parts = [_counts(indices[part], stats) @ rows for part in _chunks(len(indices), sentences)]
    sums = xp.concatenate(parts) if parts else rows[:0]
    return sums.reshape(-1, systems, width).swapaxes(0, 1)


def swapped_sums(baseline: Array, systems: Array, swaps: np.ndarray) -> tuple[Array, Array]:
    """Sums of the AR pseudo-systems: ``baseline`` (S, D), ``systems`` (K, S, D), ``swaps`` (n, S) bool.

    Pseudo-system a takes the baseline's row where ``swaps`` is True and the system's elsewhere, b the
    other rows: a = swaps @ (baseline - system) + sum(system), b = sum(baseline) + sum(system) - a.
    Returns (a, b), each (K, n, D) float64.
    """
    xp = namespace(systems)
    count, sentences, width = systems.shape
    baseline, systems = cast(baseline, "float64"), cast(systems, "float64")
    delta = (baseline[None] - systems).swapaxes(0, 1).reshape(sentences, count * width)
    system_sums = systems.sum(1).reshape(1, count * width)
    parts = [cast(to_like(swaps[part], systems), "float64") @ delta + system_sums
             for part in _chunks(len(swaps), sentences)]
    a = (xp.concatenate(parts) if parts else delta[:0]).reshape(-1, count, width).swapaxes(0, 1)
    b = baseline.sum(0) + systems.sum(1)[:, None] - a
    return a, b


def row_means(values: np.ndarray) -> np.ndarray:
    """Mean of each row of ``values`` (..., n), each row as a 1-D array: numpy sums a 1-D float32 array
    pairwise in blocks, a 2-D one along its rows in another order (the last bits differ)."""
    flat = values.reshape(-1, values.shape[-1])
    return np.array([row.mean() for row in flat], dtype=values.dtype).reshape(values.shape[:-1])


def estimate_ci(scores: np.ndarray, exact_mean: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap mean and 95% CI half-width of each row of ``scores`` (..., n): sacrebleu's
    ``significance.estimate_ci`` (numpy's mean), or with ``exact_mean`` its ``Score.estimate_ci``
    (``statistics.mean``, what ``corpus_score(n_bootstrap=...)`` reports)."""
    ordered = np.sort(scores, axis=-1)
    n = ordered.shape[-1]
    lower = n // 40
    ci = 0.5 * (ordered[..., n - lower - 1] - ordered[..., lower])
    if not exact_mean:
        return row_means(ordered), ci
    flat = ordered.reshape(-1, n)
    kind = ordered.dtype.type
    mean = np.array([kind(stats_module.mean(row.tolist())) for row in flat], dtype=ordered.dtype)
    return mean.reshape(ordered.shape[:-1]), ci


def p_values(statistics: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(#{i: statistics[..., i] > observed} + 1) / (n + 1) for each row of ``statistics`` (..., n),
    comparing in the statistics' dtype (as numpy compares a float32 array with a Python float)."""
    observed = np.asarray(observed).astype(statistics.dtype)[..., None]
    count = (statistics > observed).sum(-1)
    return (count + 1) / (statistics.shape[-1] + 1)


def _corpus_scores(stats: Array, score_fn: ScoreFunction) -> np.ndarray:
    return host(score_fn(cast(stats, "float64").sum(1), "float64")).astype(np.float64)


def bootstrap_confidence(stats: Array, score_fn: ScoreFunction, n_samples: int = BOOTSTRAP_SAMPLES,
                         seed: int | None = DEFAULT_SEED, exact_mean: bool = True,
                         rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap mean and 95% CI half-width of each of K systems: ``stats`` (K, S, D) -> ((K,), (K,)).

    sacrebleu's ``corpus_score(..., n_bootstrap=n_samples)`` for each system (one draw, shared).
    """
    rng = rng if rng is not None else np.random.default_rng(seed)
    indices = bootstrap_indices(stats.shape[1], n_samples, rng)
    sums = bootstrap_sums(cast(stats, "float32"), indices)  # sacrebleu resamples float32 rows
    return estimate_ci(host(score_fn(sums, "float32")), exact_mean)


def paired_bootstrap(stats: Array, score_fn: ScoreFunction, n_samples: int = BOOTSTRAP_SAMPLES,
                     seed: int | None = DEFAULT_SEED, scores: Sequence[float] | None = None) -> list[Result]:
    """Paired bootstrap resampling of systems 1..K-1 against system 0 (the baseline).

    stats: (K, S, D) per-sentence statistics rows; ``scores``: the K real corpus scores (default:
    ``score_fn`` of the column sums). Every system gets a mean and CI, every system but the baseline a
    p-value; one draw of ``n_samples`` resamples serves all, as in sacrebleu (which draws the same
    indices again for each system from the same seed).
    """
    real = np.asarray(scores, dtype=np.float64) if scores is not None else _corpus_scores(stats, score_fn)
    indices = bootstrap_indices(stats.shape[1], n_samples, np.random.default_rng(seed))
    sampled = host(score_fn(bootstrap_sums(cast(stats, "float32"), indices), "float32"))  # (K, n)
    means, cis = estimate_ci(sampled)
    diffs = np.abs(sampled[1:] - sampled[:1])
    p = p_values(diffs - row_means(diffs)[:, None], np.abs(real[1:] - real[0]))
    return [Result(float(real[k]), None if k == 0 else float(p[k - 1]), float(means[k]), float(cis[k]))
            for k in range(len(real))]


def paired_approximate_randomization(stats: Array, score_fn: ScoreFunction, n_trials: int = AR_TRIALS,
                                     seed: int | None = DEFAULT_SEED, scores: Sequence[float] | None = None,
                                     n_confidence: int = -1) -> list[Result]:
    """Paired approximate randomisation of systems 1..K-1 against system 0 (the baseline).

    stats: (K, S, D); ``scores``: the K real corpus scores to report (default: ``score_fn`` of the sums).
    The real differences are taken from ``score_fn`` too, so that a trial that swaps nothing ties with
    them exactly, as in sacrebleu. ``n_confidence`` > 0 adds bootstrap means and CIs, drawn as sacrebleu
    draws them (the baseline from a fresh generator, the systems after the swap masks).
    """
    real = _corpus_scores(stats, score_fn)
    report = np.asarray(scores, dtype=np.float64) if scores is not None else real
    rng = np.random.default_rng(seed)
    swaps = rng.integers(2, size=(n_trials, stats.shape[1]), dtype=bool)
    a, b = swapped_sums(stats[0], stats[1:], swaps)
    trial = np.abs(host(score_fn(a, "float64")) - host(score_fn(b, "float64")))  # (K - 1, n)
    p = p_values(trial, np.abs(real[1:] - real[0]))
    means = cis = [None] * len(real)
    if n_confidence > 0:
        system_indices = bootstrap_indices(stats.shape[1], n_confidence, rng)
        sums = bootstrap_sums(cast(stats[1:], "float32"), system_indices)
        means, cis = (list(x) for x in estimate_ci(host(score_fn(sums, "float32"))))
        base_mean, base_ci = bootstrap_confidence(stats[:1], score_fn, n_confidence, seed, exact_mean=False)
        means, cis = [base_mean[0], *means], [base_ci[0], *cis]
    return [Result(float(report[k]), None if k == 0 else float(p[k - 1]),
                   None if means[k] is None else float(means[k]), None if cis[k] is None else float(cis[k]))
            for k in range(len(real))]
