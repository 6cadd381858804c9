"""BLEU on token ids, batched in torch: per-sentence statistics and scores with no loop over sentences.

The statistics row of a sentence is that of :mod:`seqlab.metrics.bleu`,
``[hyp_len, ref_len, correct_1..N, total_1..N]``, so the scores equal the string implementation
(and sacrebleu) whenever the ids come from the same tokenisation.

How the clipped counts are found without a loop (all on the tensors' device):

1. n-grams get exact ids, order by order: the id of the n-gram starting at position i is the
   dense rank (``torch.unique(..., return_inverse=True)``) of the pair
   (id of the (n-1)-gram at i, token at i + n - 1), so ids stay small and never collide, whatever
   the vocabulary size.
2. Each hypothesis n-gram occurrence becomes the key ``sentence * G + ngram_id``; the unique keys
   and their counts give c_h(g) per sentence.
3. Each reference n-gram occurrence looks its key up among the hypothesis keys (searchsorted) and is
   counted per reference with one scatter-add into a (K, U) table; the maximum over the K references
   clips the hypothesis counts, which are then summed per sentence with index_add.

Padding: positions at or past a sequence's length are ignored; a reference of length < 0 is
missing (a sentence with fewer references than the batch's K).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqlab.errors import DataError
from seqlab.metrics.bleu import (
    BLEU,
    MAX_ORDER,
    BLEUScore,
    check_streams,
    compute_bleu,
    sentence_bleu_from_statistics,
)
from seqlab.text.padding import pad_ids


def _as_refs(refs: torch.Tensor, ref_lengths: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    if refs.dim() == 2:  # one reference per sentence
        refs, ref_lengths = refs.unsqueeze(1), ref_lengths.unsqueeze(1)
    if refs.dim() != 3 or refs.shape[0] != batch or ref_lengths.shape != refs.shape[:2]:
        raise ValueError(f"refs must be (batch, K, length) with lengths (batch, K); got {tuple(refs.shape)} "
                         f"and {tuple(ref_lengths.shape)} for a batch of {batch}")
    return refs, ref_lengths


def bleu_statistics(hyps: torch.Tensor, hyp_lengths: torch.Tensor, refs: torch.Tensor, ref_lengths: torch.Tensor,
                    max_order: int = MAX_ORDER) -> torch.Tensor:
    """Per-sentence BLEU statistics from padded token ids.

    hyps: (B, Lh) ids; hyp_lengths: (B,); refs: (B, K, Lr) ids (or (B, Lr) for one reference);
    ref_lengths: (B, K) (or (B,)), < 0 for a missing reference. Every sentence needs at least one
    reference. Returns (B, 2 + 2 * max_order) int64: ``[hyp_len, ref_len, correct_1..N, total_1..N]``.
    """
    device = hyps.device
    batch = hyps.shape[0]
    refs, ref_lengths = _as_refs(refs, ref_lengths, batch)
    num_refs = refs.shape[1]
    hyp_lengths = hyp_lengths.to(device=device, dtype=torch.long)
    ref_lengths = ref_lengths.to(device=device, dtype=torch.long)
    stats = torch.zeros(batch, 2 + 2 * max_order, dtype=torch.long, device=device)
    if batch == 0:
        return stats

    # One (S, L) table of all sequences: the B hypotheses, then the B * K references.
    width = max(hyps.shape[1], refs.shape[2], 1)
    seqs = torch.zeros(batch * (1 + num_refs), width, dtype=torch.long, device=device)
    seqs[:batch, :hyps.shape[1]] = hyps
    seqs[batch:, :refs.shape[2]] = refs.reshape(batch * num_refs, -1)
    lengths = torch.cat([hyp_lengths, ref_lengths.reshape(-1)])
    sentence = torch.cat([torch.arange(batch, device=device),
                          torch.arange(batch, device=device).repeat_interleave(num_refs)])
    ref_slot = torch.cat([torch.full((batch,), -1, device=device, dtype=torch.long),
                          torch.arange(num_refs, device=device).repeat(batch)])
    positions = torch.arange(width, device=device)

    # Closest reference length, ties to the shorter: minimise (|c - r|, r) lexicographically.
    big = torch.iinfo(torch.long).max
    scale = int(max(int(ref_lengths.max()), int(hyp_lengths.max()), 0)) + 1
    key = (hyp_lengths.unsqueeze(1) - ref_lengths).abs() * scale + ref_lengths
    key = torch.where(ref_lengths >= 0, key, torch.full_like(key, big))
    best = key.argmin(1, keepdim=True)
    stats[:, 0] = hyp_lengths
    stats[:, 1] = ref_lengths.gather(1, best).squeeze(1)

    first = positions.unsqueeze(0) < lengths.unsqueeze(1)
    seqs = torch.where(first, seqs, 0)  # whatever the padding id, it never enters a key
    if bool((seqs < 0).any()):
        raise ValueError("token ids must be >= 0")
    vocab = int(seqs.max()) + 1

    gram = seqs  # ids of the n-grams starting at each position; order 1: the tokens themselves
    for n in range(1, max_order + 1):
        span = width - n + 1
        if span <= 0:
            break
        if n > 1:
            gram = gram[:, :span] * vocab + seqs[:, n - 1:]
        valid = positions[:span].unsqueeze(0) < (lengths - n + 1).unsqueeze(1)
        uniq, inverse = torch.unique(gram[valid], return_inverse=True)
        gram = torch.zeros_like(gram).masked_scatter_(valid, inverse)  # dense ids: small, collision-free
        num_grams = max(int(uniq.numel()), 1)

        keys = sentence.unsqueeze(1) * num_grams + gram  # (S, span): one key per (sentence, n-gram)
        is_hyp = valid.clone()
        is_hyp[batch:] = False
        hyp_keys, hyp_counts = torch.unique(keys[is_hyp], return_counts=True)  # sorted
        if hyp_keys.numel() == 0:
            continue
        is_ref = valid.clone()
        is_ref[:batch] = False
        ref_keys = keys[is_ref]
        slot = ref_slot.unsqueeze(1).expand_as(keys)[is_ref]
        where = torch.searchsorted(hyp_keys, ref_keys).clamp_max_(hyp_keys.numel() - 1)
        found = hyp_keys[where] == ref_keys
        ref_counts = torch.zeros(num_refs * hyp_keys.numel(), dtype=torch.long, device=device)
        ref_counts.index_add_(0, slot * hyp_keys.numel() + where, found.long())
        clipped = torch.minimum(hyp_counts, ref_counts.view(num_refs, -1).amax(0))
        stats[:, 1 + n].index_add_(0, hyp_keys // num_grams, clipped)
    stats[:, 2 + max_order:] = (hyp_lengths.unsqueeze(1) - torch.arange(max_order, device=device)).clamp_min(0)
    return stats


def sentence_bleu_ids(hyps: torch.Tensor, hyp_lengths: torch.Tensor, refs: torch.Tensor, ref_lengths: torch.Tensor,
                      smooth_method: str = "exp", smooth_value: float | None = None, effective_order: bool = True,
                      max_order: int = MAX_ORDER) -> torch.Tensor:
    """Sentence BLEU of each hypothesis, (B,) float64 on the inputs' device (shapes as bleu_statistics)."""
    stats = bleu_statistics(hyps, hyp_lengths, refs, ref_lengths, max_order)
    return sentence_bleu_from_statistics(stats, smooth_method, smooth_value, effective_order, max_order)


def corpus_bleu_ids(hyps: torch.Tensor, hyp_lengths: torch.Tensor, refs: torch.Tensor, ref_lengths: torch.Tensor,
                    smooth_method: str = "exp", smooth_value: float | None = None, effective_order: bool = False,
                    max_order: int = MAX_ORDER) -> BLEUScore:
    """Corpus BLEU from the summed statistics (one transfer of 2 + 2N numbers to the host)."""
    row = bleu_statistics(hyps, hyp_lengths, refs, ref_lengths, max_order).sum(0).tolist()
    return compute_bleu(row[2:2 + max_order], row[2 + max_order:], row[0], row[1], smooth_method, smooth_value,
                        effective_order, max_order)


def string_statistics(bleu: BLEU, hypotheses: Sequence[str], references: Sequence[Sequence[str | None]],
                      device: torch.device | str = "cpu") -> torch.Tensor:
    """The rows of ``bleu.statistics(hypotheses, references)``, counted on ``device`` from token ids.

    Strings are tokenised by ``bleu`` (sacrebleu's tokenisers) and mapped to ids on the host; the
    n-gram matching runs batched on the device. Returns (S, 2 + 2N) int64 on ``device``.
    """
    vocab: dict[str, int] = {}

    def encode(line: str) -> list[int]:
        return [vocab.setdefault(token, len(vocab)) for token in bleu.tokenize_line(line)]

    check_streams(hypotheses, references)
    hyps, hyp_lengths = pad_ids([encode(h) for h in hypotheses], device)
    streams = [pad_ids([encode(r) if r is not None else [] for r in stream], device) for stream in references]
    width = max(ids.shape[1] for ids, _ in streams)
    refs = torch.zeros(len(hypotheses), len(streams), width, dtype=torch.long, device=device)
    ref_lengths = torch.stack([lengths for _, lengths in streams], 1)
    for k, (ids, _) in enumerate(streams):
        refs[:, k, :ids.shape[1]] = ids
    missing = torch.tensor([[r is None for r in stream] for stream in references], device=device).T
    ref_lengths = ref_lengths.masked_fill(missing, -1)
    if len(hypotheses) and bool((ref_lengths < 0).all(1).any()):
        first = int((ref_lengths < 0).all(1).nonzero()[0])
        raise DataError(f"sentence {first + 1} has no reference")
    present = set((~missing).sum(1).tolist())
    bleu.num_refs = present.pop() if len(present) == 1 else -1
    return bleu_statistics(hyps, hyp_lengths, refs, ref_lengths, bleu.max_order)
