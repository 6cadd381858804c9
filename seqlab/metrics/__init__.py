"""Evaluation metrics: BLEU on strings (sacrebleu parity) and on token ids (torch, batched); chrF and TER
(sacrebleu's); several systems with sacrebleu's paired significance tests, resampled in torch.

    from seqlab.metrics import corpus_bleu, corpus_chrf, evaluate_systems, sentence_bleu_ids
    corpus_bleu(hypotheses, [references]).score                     # references: one list per reference set
    corpus_chrf(hypotheses, [references])                           # float, sacrebleu's chrF
    sentence_bleu_ids(hyp_ids, hyp_lengths, ref_ids, ref_lengths)   # (B,) scores, on hyp_ids.device
    evaluate_systems([("base", hyps_a), ("new", hyps_b)], [references], "bleu,chrf,ter", test="bs").table()

Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "bleu": ["BLEU", "BLEUScore", "SMOOTH_METHODS", "TOKENIZERS", "compute_bleu", "corpus_bleu", "sentence_bleu"],
    "bleu_ids": ["bleu_statistics", "corpus_bleu_ids", "sentence_bleu_from_statistics", "sentence_bleu_ids",
                 "string_statistics"],
    "chrf": ["chrf_from_statistics", "corpus_chrf"],
    "evaluate": ["Evaluation", "evaluate_systems"],
    "significance": ["Result", "bootstrap_confidence", "paired_approximate_randomization", "paired_bootstrap"],
    "ter": ["corpus_ter", "ter_from_statistics"],
})
