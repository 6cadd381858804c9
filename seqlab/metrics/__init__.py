"""Evaluation metrics: BLEU on strings (sacrebleu parity) and on token ids (torch, batched).

    from seqlab.metrics import corpus_bleu, sentence_bleu_ids
    corpus_bleu(hypotheses, [references]).score                     # references: one list per reference set
    sentence_bleu_ids(hyp_ids, hyp_lengths, ref_ids, ref_lengths)   # (B,) scores, on hyp_ids.device

Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "bleu": ["BLEU", "BLEUScore", "SMOOTH_METHODS", "TOKENIZERS", "compute_bleu", "corpus_bleu", "sentence_bleu"],
    "bleu_ids": ["bleu_statistics", "corpus_bleu_ids", "sentence_bleu_from_statistics", "sentence_bleu_ids",
                 "string_statistics"],
    "chrf": ["corpus_chrf"],
})
