"""chrF and chrF++ (Popović 2015, 2017) on strings, computed by sacrebleu's own ``CHRF`` class.

chrF is the F-beta score (beta = 2) of character n-gram precision and recall averaged over orders
1..6; chrF++ (``word_order=2``) adds word unigrams and bigrams. seqlab does not re-implement it:
this module only gives the corpus score a one-call form for validation during training.
"""

from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import CHRF


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[Sequence[str]], word_order: int = 0,
                lowercase: bool = False) -> float:
    """sacrebleu's corpus chrF (``word_order=2``: chrF++) of ``hypotheses`` against reference streams
    (one list of lines per reference set, like :func:`seqlab.metrics.bleu.corpus_bleu`), 0-100."""
    metric = CHRF(word_order=word_order, lowercase=lowercase)
    return float(metric.corpus_score(list(hypotheses), [list(refs) for refs in references]).score)
