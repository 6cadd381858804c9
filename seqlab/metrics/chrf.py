"""chrF and chrF++ (Popović 2015, 2017) on strings, computed by sacrebleu's own ``CHRF`` class.

chrF is the F-beta score (beta = 2) of character n-gram precision and recall averaged over orders
1..6; chrF++ (``word_order=2``) adds word unigrams and bigrams. seqlab does not re-implement the
string side: :func:`corpus_chrf` gives sacrebleu's corpus score a one-call form (for validation
during training), and :func:`chrf_from_statistics` scores many *summed* statistics rows at once (the
resamples of :mod:`seqlab.metrics.significance`) with the arithmetic of sacrebleu's
``CHRF._compute_f_score``. A statistics row is sacrebleu's: ``[hyp, ref, match]`` n-gram counts for
each character order, then each word order. With sacrebleu's default (no eps smoothing), for the
orders where both counts are non-zero (the effective orders)::

    P = mean_n match_n / hyp_n,   R = mean_n match_n / ref_n,   chrF = 100 (1 + b^2) P R / (b^2 P + R)
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import CHRF

from seqlab.metrics.arrays import Array, cast, dtype_in, namespace

EPS = 1e-16  # sacrebleu's, for an order with no hypothesis or reference n-gram (eps smoothing only)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[Sequence[str]], word_order: int = 0,
                lowercase: bool = False) -> float:
    """sacrebleu's corpus chrF (``word_order=2``: chrF++) of ``hypotheses`` against reference streams
    (one list of lines per reference set, like :func:`seqlab.metrics.bleu.corpus_bleu`), 0-100."""
    metric = CHRF(word_order=word_order, lowercase=lowercase)
    return float(metric.corpus_score(list(hypotheses), [list(refs) for refs in references]).score)


def chrf_from_statistics(stats: Array, beta: int = CHRF.BETA, eps_smoothing: bool = False,
                         dtype: object = "float64") -> Array:
    """chrF (0-100) of every summed statistics row: ``stats`` (..., 3 * orders) -> (...) in ``dtype``, for
    a numpy array or a torch tensor (on its device; see :mod:`seqlab.metrics.arrays`).

    The operations of sacrebleu's ``CHRF._compute_f_score`` in its order, vectorised over the rows
    (a loop over the few orders only). ``dtype`` float32 reproduces sacrebleu's bootstrap resampling,
    which computes from float32 statistics; float64 its corpus score and approximate randomisation.
    One difference, with ``eps_smoothing`` in float32 only: where an order has no hypothesis or no
    reference n-gram, sacrebleu's eps is a Python float that mixes float64 into its float32 arithmetic;
    here it stays float32 (the scores agree to float32 precision).
    """
    xp = namespace(stats)
    stats = cast(stats, dtype)
    factor = beta ** 2
    zero = xp.zeros_like(stats[..., 0])
    score, avg_prec, avg_rec = zero, zero, zero
    effective_order = xp.zeros_like(stats[..., 0], dtype=dtype_in(xp, "int64"))
    for i in range(stats.shape[-1] // 3):
        n_hyp, n_ref, n_match = stats[..., 3 * i], stats[..., 3 * i + 1], stats[..., 3 * i + 2]
        prec = xp.where(n_hyp > 0, n_match / xp.where(n_hyp > 0, n_hyp, 1), EPS)
        rec = xp.where(n_ref > 0, n_match / xp.where(n_ref > 0, n_ref, 1), EPS)
        if eps_smoothing:
            denom = factor * prec + rec
            score = score + xp.where(denom > 0, (1 + factor) * prec * rec / xp.where(denom > 0, denom, 1), EPS)
        both = (n_hyp > 0) & (n_ref > 0)
        avg_prec = xp.where(both, avg_prec + prec, avg_prec)
        avg_rec = xp.where(both, avg_rec + rec, avg_rec)
        effective_order = effective_order + cast(both, "int64")
    if eps_smoothing:
        return 100 * score / (stats.shape[-1] // 3)
    order = cast(xp.where(effective_order > 1, effective_order, 1), dtype)
    avg_prec = xp.where(effective_order > 0, avg_prec / order, zero)
    avg_rec = xp.where(effective_order > 0, avg_rec / order, zero)
    nonzero = (avg_prec + avg_rec) != 0
    score = (1 + factor) * avg_prec * avg_rec
    score = score / xp.where(nonzero, factor * avg_prec + avg_rec, 1)
    return xp.where(nonzero, 100 * score, zero)
