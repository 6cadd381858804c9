"""Parallel data: aligned files or a tab-separated file -> subword ids -> length-bucketed batches.

Batches group sentences of similar length (less padding, Sutskever et al. 2014, section 3.3): the
pairs are shuffled with a seeded generator, sorted by length inside pools of 50 batches, cut into
batches, and the batches shuffled again. ``collate`` pads to (B, S) / (B, T) with PAD and builds the
decoder input (BOS y) and output (y EOS).

Token batches (:meth:`ParallelCorpus.token_batches`, fairseq's ``--max-tokens``, Joey NMT's
``batch_type: token``) hold as many pairs as fit a budget of padded tokens: a pair's size is
max(|x|, |y| + 1) (the longer side, the target with its EOS, as Joey NMT counts), a batch of n pairs
costs n times its largest size, and pairs sorted by size inside a shuffled pool are added until the
next one would make the cost exceed the budget. A pair larger than the whole budget gets a batch of
its own (never dropped: the corpus's ``max_len`` already bounds it), or of ``min_pairs`` (under DDP, one
pair for each process).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from seqlab.errors import DataError
from seqlab.io import read_lines
from seqlab.text.padding import pad_ids
from seqlab.text.subword import BOS, EOS, PAD, Subword


def read_parallel(src_path: str | os.PathLike, tgt_path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Aligned source and target files (plain, .gz, .bz2, .xz), one sentence a line, same line count."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if not src:
        raise DataError(f"{src_path}: empty file")
    if len(src) != len(tgt):
        raise DataError(f"{tgt_path}: {len(tgt)} lines, but {src_path} has {len(src)}; the files must be aligned")
    return src, tgt


def read_tsv(path: str | os.PathLike, src_column: int, tgt_column: int) -> tuple[list[str], list[str]]:
    """Pairs from a tab-separated file (e.g. Tatoeba's ``English<TAB>French``), columns counted from 0."""
    src, tgt = [], []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if max(src_column, tgt_column) >= len(fields):
            raise DataError(f"{path}: line {number} has {len(fields)} tab-separated fields, "
                            f"need column {max(src_column, tgt_column)}")
        src.append(fields[src_column].strip())
        tgt.append(fields[tgt_column].strip())
    if not src:
        raise DataError(f"{path}: no sentence pairs")
    return src, tgt


@dataclass
class Batch:
    """One padded batch: src (B, S), src_lengths (B,), tgt_in (B, T) = BOS y, tgt_out (B, T) = y EOS."""

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    index: list[int]

    @property
    def num_tokens(self) -> int:
        return int((self.tgt_out != PAD).sum())

    def to(self, device: torch.device) -> Batch:
        return Batch(self.src.to(device, non_blocking=True), self.src_lengths.to(device),
                     self.tgt_in.to(device, non_blocking=True), self.tgt_out.to(device, non_blocking=True), self.index)


def collate(src_ids: list[list[int]], tgt_ids: list[list[int]] | None, index: list[int],
            reverse_target: bool = False) -> Batch:
    """Pad the pairs ``index`` of the encoded corpus into a Batch (targets may be None: decoding only);
    ``reverse_target``: the targets right to left (BOS y_T ... y_1 / y_T ... y_1 EOS)."""
    src, lengths = pad_ids([src_ids[i] for i in index])
    if tgt_ids is None:
        empty = torch.zeros(len(index), 1, dtype=torch.long)
        return Batch(src, lengths, empty, empty, index)
    tgt = [tgt_ids[i][::-1] if reverse_target else tgt_ids[i] for i in index]
    return Batch(src, lengths, pad_ids([[BOS, *t] for t in tgt])[0], pad_ids([[*t, EOS] for t in tgt])[0], index)


class ParallelCorpus:
    """Sentence pairs encoded with source and target subword models."""

    def __init__(self, src: list[str], tgt: list[str] | None, src_sp: Subword, tgt_sp: Subword,
                 max_len: int | None = None, reverse_target: bool = False) -> None:
        self.src_text, self.tgt_text = src, tgt
        self.reverse_target = reverse_target
        self.src_sp, self.tgt_sp, self.max_len = src_sp, tgt_sp, max_len
        self.src_ids = src_sp.encode_batch(src)
        self.tgt_ids = tgt_sp.encode_batch(tgt) if tgt is not None else None
        self.src_base, self.tgt_base = self.src_ids, self.tgt_ids  # the deterministic (best) segmentations
        keep = range(len(src))
        if max_len is not None:  # training only: drop overlong and empty pairs
            keep = [i for i in keep if 0 < len(self.src_ids[i]) <= max_len
                    and (self.tgt_ids is None or 0 < len(self.tgt_ids[i]) <= max_len)]
        self.keep = list(keep)

    def resample(self, alpha: float, nbest: int, seed: int) -> None:
        """Segment the kept pairs anew by sampling (:meth:`Subword.sample_batch`), both sides, each side with
        its own seed derived from ``seed``. A sampled side longer than ``max_len`` keeps its best segmentation,
        so the same pairs stay in the corpus; ``alpha`` 0 restores the best segmentations."""
        if alpha <= 0:
            self.src_ids, self.tgt_ids = self.src_base, self.tgt_base
            return
        seed = 2 * seed % 2**31
        self.src_ids = self._sampled(self.src_text, self.src_sp, self.src_base, alpha, nbest, seed)
        if self.tgt_text is not None and self.tgt_base is not None:
            self.tgt_ids = self._sampled(self.tgt_text, self.tgt_sp, self.tgt_base, alpha, nbest, seed + 1)

    def _sampled(self, text: list[str], sp: Subword, base: list[list[int]], alpha: float, nbest: int,
                 seed: int) -> list[list[int]]:
        """``base`` with each kept sentence replaced by a sampled segmentation that fits ``max_len``."""
        ids = list(base)
        sampled = sp.sample_batch([text[i] for i in self.keep], alpha, nbest, seed)
        for i, pieces in zip(self.keep, sampled, strict=True):
            if 0 < len(pieces) and (self.max_len is None or len(pieces) <= self.max_len):
                ids[i] = pieces
        return ids

    def __len__(self) -> int:
        return len(self.keep)

    def batches(self, batch_size: int, shuffle: bool, generator: torch.Generator | None = None) -> list[list[int]]:
        """Lists of pair indices, bucketed by length; in corpus order when not ``shuffle``."""
        keep = torch.tensor(self.keep, dtype=torch.long)
        if not shuffle:
            return [keep[i:i + batch_size].tolist() for i in range(0, len(keep), batch_size)]
        order = keep[torch.randperm(len(keep), generator=generator)]
        lengths = torch.tensor([len(self.src_ids[i]) for i in order.tolist()])
        pool = batch_size * 50
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start:start + pool]
            chunk = chunk[torch.argsort(lengths[start:start + pool], stable=True)]
            batches.extend(chunk[i:i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
        perm = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in perm]

    def sizes(self, index: torch.Tensor) -> torch.Tensor:
        """The padded-token size max(|x|, |y| + 1) of the pairs ``index`` (N,) -> (N,) int64."""
        src = torch.tensor([len(self.src_ids[i]) for i in index.tolist()], dtype=torch.long)
        if self.tgt_ids is None:
            return src
        tgt = torch.tensor([len(self.tgt_ids[i]) + 1 for i in index.tolist()], dtype=torch.long)
        return torch.maximum(src, tgt)

    def token_batches(self, max_tokens: int, generator: torch.Generator | None = None, pool_batches: int = 50,
                      min_pairs: int = 1) -> list[list[int]]:
        """Lists of pair indices, each costing at most ``max_tokens`` padded tokens (see the module docstring)
        unless it has only ``min_pairs`` pairs, in a shuffled order; every kept pair is in exactly one batch (the
        last of a pool of ``pool_batches`` batches may have fewer than ``min_pairs``). Deterministic given
        ``generator``."""
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        keep = torch.tensor(self.keep, dtype=torch.long)
        order = keep[torch.randperm(len(keep), generator=generator)]
        sizes = self.sizes(order)
        mean = max(1, int(sizes.float().mean().ceil())) if len(sizes) else 1
        pool = max(1, pool_batches * max_tokens // mean)
        batches = []
        for start in range(0, len(order), pool):
            chunk_sizes, sort = torch.sort(sizes[start:start + pool], stable=True)
            chunk = order[start:start + pool][sort]
            batches.extend(chunk[i:j].tolist() for i, j in _fill(chunk_sizes, max_tokens, min_pairs))
        perm = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in perm]

    def batch(self, index: list[int]) -> Batch:
        return collate(self.src_ids, self.tgt_ids, index, self.reverse_target)


def _fill(sizes: torch.Tensor, max_tokens: int, min_pairs: int = 1) -> list[tuple[int, int]]:
    """The (start, end) spans that cut ``sizes`` (N,), sorted ascending, into greedy batches whose cost
    (count x largest size) is at most ``max_tokens``, or of ``min_pairs`` pairs when those cost more. The
    sizes are sorted, so a span's largest size is its last one and the cost grows with the span: each span
    is the longest prefix of the rest within the budget, found on a window of at most ``max_tokens // sizes[i]``."""
    spans, start, n = [], 0, len(sizes)
    while start < n:
        window = sizes[start:start + max(1, max_tokens // max(1, int(sizes[start]))) + 1]
        cost = window * torch.arange(1, len(window) + 1)
        count = min(n - start, max(min_pairs, int((cost <= max_tokens).sum())))
        spans.append((start, start + count))
        start += count
    return spans
