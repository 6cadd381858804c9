"""Translation edit rate (Snover et al. 2006) on strings, computed by sacrebleu's own ``TER`` class.

TER = 100 * (word edits: insertions, deletions, substitutions and shifts of word blocks, fewest over
the references) / (average reference length), summed over the corpus. seqlab does not re-implement
the edit distance (sacrebleu's is a near-exact port of Tercom): :func:`corpus_ter` is a one-call form
of sacrebleu's corpus score, and :func:`ter_from_statistics` scores many summed statistics rows
``[edits, average reference length]`` at once (the resamples of :mod:`seqlab.metrics.significance`)
as sacrebleu's ``TER._compute_score_from_stats`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import TER

from seqlab.metrics.arrays import Array, cast, namespace


def corpus_ter(hypotheses: Sequence[str], references: Sequence[Sequence[str]], case_sensitive: bool = False) -> float:
    """sacrebleu's corpus TER of ``hypotheses`` against reference streams (one list of lines per
    reference set), 0-100 and more (lower is better)."""
    metric = TER(case_sensitive=case_sensitive)
    return float(metric.corpus_score(list(hypotheses), [list(refs) for refs in references]).score)


def ter_from_statistics(stats: Array, dtype: object = "float64") -> Array:
    """TER of every summed statistics row: ``stats`` (..., 2) ``[edits, reference length]`` -> (...) in
    ``dtype`` (float32 reproduces sacrebleu's bootstrap resampling, float64 its corpus score), for a numpy
    array or a torch tensor.

    An empty reference scores 100 against a non-empty hypothesis and 0 against an empty one.
    """
    xp = namespace(stats)
    stats = cast(stats, dtype)
    edits, length = stats[..., 0], stats[..., 1]
    rate = edits / xp.where(length > 0, length, 1)
    rate = xp.where(length > 0, rate, cast(edits > 0, dtype))
    return 100 * rate
