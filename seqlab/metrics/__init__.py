"""Evaluation metrics: BLEU on strings (sacrebleu parity) and on token ids (torch, batched)."""
