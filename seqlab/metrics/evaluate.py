"""MT evaluation of one or several systems on BLEU, chrF, chrF++ and TER, with significance tests.

What ``sacrebleu REF -i SYS1 SYS2 ... -m bleu chrf ter [--paired-bs | --paired-ar] [--confidence]``
computes, in one library call: :func:`evaluate_systems` extracts each metric's per-sentence statistics
(BLEU: seqlab's sacrebleu-exact rows, counted in torch on a GPU; chrF and TER: sacrebleu's own
classes), takes the corpus scores from them as sacrebleu does, and runs the tests of
:mod:`seqlab.metrics.significance` on the stacked statistics (systems, sentences, stats) with each
metric's vectorised formula. The first system is the baseline of the paired tests.

Metrics by name: ``bleu`` (the options of a :class:`~seqlab.metrics.bleu.BLEU`), ``chrf`` (chrF2),
``chrf++`` (chrF2++, sacrebleu's ``CHRF(word_order=2)``) and ``ter``, with sacrebleu's defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from seqlab.errors import ConfigError, DataError
from seqlab.metrics.arrays import Array, namespace
from seqlab.metrics.bleu import BLEU
from seqlab.metrics.significance import (
    AR_TRIALS,
    BOOTSTRAP_SAMPLES,
    DEFAULT_SEED,
    Result,
    bootstrap_confidence,
    paired_approximate_randomization,
    paired_bootstrap,
)

if TYPE_CHECKING:
    import torch

METRICS = ("bleu", "chrf", "chrf++", "ter")
TESTS = {"bs": ("bootstrap resampling", BOOTSTRAP_SAMPLES), "ar": ("approximate randomization", AR_TRIALS)}


def parse_metrics(names: str | Sequence[str]) -> list[str]:
    """``"bleu,chrf,ter"`` (or a list of names) -> the metric names, checked, without repeats."""
    items = names.split(",") if isinstance(names, str) else list(names)
    found = []
    for item in (name.strip().lower() for name in items):
        if item not in METRICS:
            raise ConfigError(f"unknown metric {item!r}; choose from {', '.join(METRICS)} (comma-separated)")
        if item not in found:
            found.append(item)
    if not found:
        raise ConfigError(f"no metric given; choose from {', '.join(METRICS)}")
    return found


def with_test(signature: str, **items: object) -> str:
    """``signature`` with ``bs:1000|ar:...|seed:12345`` after its ``nrefs`` part, where sacrebleu's
    ``Signature.format`` puts them (None values are left out)."""
    extra = [f"{key}:{str(value).lower()}" for key, value in items.items() if value is not None]
    head, sep, rest = signature.partition("|")
    return "|".join([head, *extra, rest]) if sep else "|".join([head, *extra])


class BLEUStatistics:
    """BLEU through seqlab's sacrebleu-exact BLEU class: its statistics rows (counted in torch on a GPU),
    the corpus score from their sums."""

    def __init__(self, bleu: BLEU, references: Sequence[Sequence[str]]):
        self.bleu, self.references = bleu, references
        self.table = None  # the references' n-grams, counted once for all systems

    def statistics(self, hypotheses: Sequence[str], device: torch.device | None) -> tuple[Array, object]:
        if device is None:  # the CPU, in numpy: as BLEU.scores, counting in Python beats torch's small ops
            if self.table is None:
                self.table = self.bleu.reference_table(self.references)
            rows = np.array(self.bleu.statistics(hypotheses, self.references, self.table), dtype=np.int64)
        else:
            from seqlab.metrics.bleu_ids import string_statistics

            rows = string_statistics(self.bleu, hypotheses, self.references, device)
        return rows, self.bleu.score_statistics(rows.sum(0).tolist())

    def score(self, sums: Array, dtype: str) -> Array:
        from seqlab.metrics.bleu import sentence_bleu_from_statistics

        bleu = self.bleu
        return sentence_bleu_from_statistics(sums, bleu.smooth_method, bleu.smooth_value, bleu.effective_order,
                                             bleu.max_order, dtype)

    def signature(self) -> str:
        return self.bleu.signature()


class SacreStatistics:
    """chrF(++) or TER through sacrebleu's own class: its statistics rows, its corpus score (``key``: chrf,
    chrf++ or ter)."""

    def __init__(self, key: str, references: Sequence[Sequence[str]]):
        from sacrebleu.metrics import CHRF, TER

        self.key = key
        self.metric = TER(references=references) if key == "ter" else CHRF(word_order=2 if key == "chrf++" else 0,
                                                                            references=references)

    def statistics(self, hypotheses: Sequence[str], device: torch.device | None) -> tuple[Array, object]:
        rows = self.metric._extract_corpus_statistics(list(hypotheses), None)  # the cached references
        stats = np.array(rows, dtype=np.float64)
        if device is not None:
            import torch

            stats = torch.as_tensor(stats, device=device)
        return stats, self.metric._aggregate_and_compute(rows)

    def score(self, sums: Array, dtype: str) -> Array:
        if self.key == "ter":
            from seqlab.metrics.ter import ter_from_statistics

            return ter_from_statistics(sums, dtype)
        from seqlab.metrics.chrf import chrf_from_statistics

        return chrf_from_statistics(sums, self.metric.beta, self.metric.eps_smoothing, dtype)

    def signature(self) -> str:
        return self.metric.get_signature().format()


def metric_statistics(key: str, references: Sequence[Sequence[str]],
                      bleu: BLEU | None = None) -> BLEUStatistics | SacreStatistics:
    """The metric ``key`` (bleu, chrf, chrf++, ter) against ``references``: ``.statistics(hypotheses,
    device)`` gives the (S, D) rows (a numpy array for ``device`` None, else a tensor on it) and the corpus
    score, ``.score(sums, dtype)`` the vectorised formula."""
    return BLEUStatistics(bleu or BLEU(), references) if key == "bleu" else SacreStatistics(key, references)


@dataclass
class Evaluation:
    """Scores of each system on each metric, as sacrebleu's multi-system mode reports them.

    ``results[metric][k]``: :class:`~seqlab.metrics.significance.Result` of system k (0 is the baseline of
    a paired test); ``scores[metric][k]``: the metric's own score object (seqlab's BLEUScore, sacrebleu's
    CHRFScore or TERScore) with its details; ``signatures[metric]``: sacrebleu's signature, with the test's
    ``bs``/``ar`` and ``seed`` when resampled.
    """

    systems: list[str]
    results: dict[str, list[Result]]
    scores: dict[str, list[object]]
    signatures: dict[str, str]
    test: str | None = None
    n_samples: int | None = None
    seed: int | None = DEFAULT_SEED
    confidence_n: int | None = None
    metrics: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = list(self.results)

    def metric_dict(self, metric: str, k: int) -> dict:
        """Every figure of system k on ``metric``: score, p_value, mean, ci, significant, the signature and
        the metric's details (BLEU's precisions, brevity penalty and lengths; TER's edits)."""
        score = self.scores[metric][k]
        out = {"name": metric, **self.results[metric][k].to_dict(), "signature": self.signatures[metric]}
        if hasattr(score, "to_dict"):  # seqlab's BLEUScore
            details = score.to_dict()
            details.pop("mean", None), details.pop("ci", None)
        else:
            details = {key: value for key, value in vars(score).items()
                       if not key.startswith("_") and isinstance(value, int | float | str)}
        for key, value in details.items():
            out.setdefault(key, value)
        for part in self.signatures[metric].split("|"):
            key, _, value = part.partition(":")
            out.setdefault(key, value)
        return out

    def to_dict(self) -> dict:
        """The JSON report: the test, the signatures and, for each system, every figure of every metric."""
        systems = [{"system": name, "baseline": self.test is not None and k == 0,
                    **{metric: self.metric_dict(metric, k) for metric in self.metrics}}
                   for k, name in enumerate(self.systems)]
        test = None if self.test is None else f"paired-{self.test}"
        return {"test": test, "n_samples": self.n_samples, "seed": self.seed, "confidence_n": self.confidence_n,
                "signatures": dict(self.signatures), "systems": systems}

    def line(self, metric: str, k: int = 0, width: int = 2) -> str:
        """sacrebleu's one-line report of system k: ``NAME|signature = score (μ = mean ± ci) details``."""
        score = self.scores[metric][k]
        if isinstance(getattr(score, "signature", None), str):  # seqlab's BLEUScore
            return score.format(width)
        return score.format(width, signature=self.signatures[metric])

    def table(self, width: int = 2) -> str:
        """The multi-system table (system, each metric's score, mean ± 95% CI, p-value with ``*`` when
        p <= 0.05), then the test's legend and the metric signatures, as sacrebleu prints them."""
        has_ci = any(r.mean is not None for results in self.results.values() for r in results)
        header = ["System", *(f"{m} (μ ± 95% CI)" if has_ci else m for m in self.metrics)]
        rows = []
        for k, name in enumerate(self.systems):
            cells = [f"Baseline: {name}" if self.test and k == 0 else name]
            for metric in self.metrics:
                result = self.results[metric][k]
                cell = f"{result.score:.{width}f}"
                if result.mean is not None:
                    cell += f" ({result.mean:.{width}f} ± {result.ci:.{width}f})"
                if result.p_value is not None:
                    cell += f" (p = {result.p_value:.4f})" + ("*" if result.significant else "")
                cells.append(cell)
            rows.append(cells)
        widths = [max(len(row[j]) for row in [header, *rows]) for j in range(len(header))]
        lines = ["  ".join([row[0].rjust(widths[0]), *(c.ljust(w) for c, w in zip(row[1:], widths[1:], strict=True))])
                 .rstrip() for row in [header, *rows]]
        lines.append("")
        if self.test:
            kind, _ = TESTS[self.test]
            trials = "resampling trials" if self.test == "bs" else "trials"
            title = f"Paired {kind} test with {self.n_samples} {trials}"
            lines += ["-" * len(title), title, "-" * len(title),
                      f" - Each system is pairwise compared to Baseline: {self.systems[0]}.",
                      "   Actual system score / bootstrap estimated true mean / 95% CI are provided for each metric."
                      if has_ci else "   Actual system score is provided for each metric.",
                      " - p-value: roughly the probability of an absolute score difference (delta) this large or",
                      "   larger if the system and the baseline came from the same process. p-values <= 0.05 are",
                      '   marked "*": the delta is unlikely to be chance (the systems differ; not which is better).',
                      ""]
        lines += ["-----------------", "Metric signatures", "-----------------"]
        lines += [f" - {metric:<10} {signature}" for metric, signature in self.signatures.items()]
        return "\n".join(lines)


def _check_systems(systems: Sequence[tuple[str, Sequence[str]]], references: Sequence[Sequence[str]]) -> None:
    if not systems:
        raise ConfigError("no system to evaluate")
    if not references:
        raise ConfigError("no reference stream given")
    size = len(references[0])
    for k, stream in enumerate(references):
        if len(stream) != size:
            raise DataError(f"reference stream {k + 1} has {len(stream)} lines, the first one {size}")
    seen = set()
    for name, hypotheses in systems:
        if name in seen:
            raise ConfigError(f"system {name!r} is given twice")
        seen.add(name)
        if not hypotheses:
            raise DataError(f"{name}: no hypotheses (empty)")
        if len(hypotheses) != size:
            raise DataError(f"{name}: {len(hypotheses)} lines, but the references have {size}")


def evaluate_systems(systems: Sequence[tuple[str, Sequence[str]]], references: Sequence[Sequence[str]],
                     metrics: str | Sequence[str] = ("bleu",), test: str | None = None, n_samples: int | None = None,
                     seed: int | None = DEFAULT_SEED, confidence_n: int = 0, bleu: BLEU | None = None,
                     device: torch.device | str | None = "cpu") -> Evaluation:
    """Score every system on every metric and run the paired test, as sacrebleu's CLI does.

    systems: (name, hypotheses) pairs, the baseline first; references: K streams of S lines (one list
    per reference set). ``test``: None, ``"bs"`` (paired bootstrap, ``n_samples`` default 1000: every
    system also gets a mean and 95% CI) or ``"ar"`` (approximate randomisation, default 10000 trials).
    ``confidence_n`` > 0: bootstrap means and CIs with that many resamples (without a test: each system
    as ``sacrebleu --confidence``; with AR: sacrebleu's ``n_ar_confidence``). ``bleu``: the BLEU options
    (default sacrebleu's). The statistics and resampling live on ``device``: on the CPU (``"cpu"``,
    ``"auto"`` without CUDA, None) they are numpy arrays and torch is not imported; on a GPU, tensors.
    """
    keys = parse_metrics(metrics)
    _check_systems(systems, references)
    if test is not None and test not in TESTS:
        raise ConfigError(f"unknown test {test!r}; choose bs (paired bootstrap) or ar (approximate randomization)")
    if test is not None and len(systems) < 2:
        raise ConfigError("paired tests need at least two systems (the first is the baseline)")
    if n_samples is not None and n_samples < 1 or confidence_n < 0:
        raise ConfigError("the number of resamples or trials must be at least 1")
    n = (n_samples or TESTS[test][1]) if test else None
    device = _accelerator(device)
    references = [list(stream) for stream in references]
    results, scores, signatures = {}, {}, {}
    for key in keys:
        metric = metric_statistics(key, references, bleu)
        rows, corpus = zip(*(metric.statistics(list(hyps), device) for _, hyps in systems), strict=True)
        stats = namespace(rows[0]).stack(rows)  # (systems, sentences, stats)
        real = [float(score.score) for score in corpus]
        resampled = None
        if test == "bs":
            resampled = paired_bootstrap(stats, metric.score, n, seed, real)
            signature = with_test(metric.signature(), bs=n, seed=str(seed))
        elif test == "ar":
            resampled = paired_approximate_randomization(stats, metric.score, n, seed, real, confidence_n or -1)
            signature = with_test(metric.signature(), bs=confidence_n or None, ar=n, seed=str(seed))
        elif confidence_n:
            means, cis = bootstrap_confidence(stats, metric.score, confidence_n, seed)
            resampled = [Result(s, None, float(m), float(c)) for s, m, c in zip(real, means, cis, strict=True)]
            signature = with_test(metric.signature(), bs=confidence_n, seed=str(seed))
        else:
            signature = metric.signature()
        resampled = resampled or [Result(s) for s in real]
        for score, result in zip(corpus, resampled, strict=True):
            _attach(score, result, signature)
        name = corpus[0].name
        results[name], scores[name], signatures[name] = resampled, list(corpus), signature
    return Evaluation([name for name, _ in systems], results, scores, signatures, test, n, seed,
                      confidence_n or None)


def _accelerator(device: torch.device | str | None) -> torch.device | None:
    """None for the CPU (numpy, without importing torch), else the torch device."""
    from seqlab.device import resolve_device, runs_on_cpu

    if device is None or (isinstance(device, str) and runs_on_cpu(device)):
        return None
    device = resolve_device(device)
    return None if device.type == "cpu" else device


def _attach(score: object, result: Result, signature: str) -> None:
    """Put the bootstrap estimate and the signature on a metric's own score object, so that its
    ``format`` prints them as sacrebleu does."""
    if isinstance(getattr(score, "signature", None), str):  # seqlab's BLEUScore
        score.signature, score.mean, score.ci = signature, result.mean, result.ci
    elif result.mean is not None:  # sacrebleu's Score prints ``(μ = mean ± ci)`` from these
        score._mean, score._ci = result.mean, result.ci
