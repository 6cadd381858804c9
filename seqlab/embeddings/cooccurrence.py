"""Word-word co-occurrence counts X for GloVe, counted as Stanford GloVe's ``cooccur.c`` counts them.

Pennington, Socher & Manning 2014 ("GloVe: Global Vectors for Word Representation"), sec. 3 and
4.2: X_ij sums, over every occurrence of word i and every word j at distance d = 1..window to its
left or right in the same line, the weight 1/d (or 1 without distance weighting). As in cooccur.c,
out-of-vocabulary tokens are dropped before distances are measured and a window never crosses a
line end. With a symmetric window X is symmetric, and the diagonal gets both orders: each pair of
equal words at distance d adds 2/d to X_ii.

Counting in bulk: the pairs (ids[p], ids[p + d]) of a chunk of positions, for all d at once, are
made as tensors and keyed by the unordered pair, min(a, b) * V + max(a, b) (X is symmetric, so
each pair is kept once); ``torch.unique`` and ``index_add_`` sum equal keys. Chunk results are
buffered and merged (concatenate, unique, sum) whenever the buffer outgrows the merged part, so
memory stays within a few times the final matrix plus one chunk. The same code runs on the CPU and
the GPU; sums are float64 like cooccur.c's ``real``. An encoded corpus is read a chunk at a time
(:func:`count_encoded_pairs`), so it is never in memory or on the device whole. The matrix itself is
about 16 bytes per distinct pair (3x that while merging); a vocabulary of V words has at most
V (V + 1) / 2. This path holds it all in memory: it has no memory limit.

On the CPU, :func:`count_encoded_pairs` with ``native`` counts in the C kernel of
:mod:`seqlab.embeddings.cooccur_native` instead: the same keys and sums, about four times faster, and
within a memory limit (``memory`` GB, cooccur.c's ``-memory``): as cooccur.c does, a hash table that
outgrows it is emptied into a sorted run spilled to a temporary file (TMPDIR), and the runs are merged
at the end, so that counting needs the limit plus the matrix itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from seqlab.errors import DataError
from seqlab.io import load_checkpoint, save_checkpoint
from seqlab.progress import progress_bar
from seqlab.text.vocab import EncodedCorpus

COOC_KIND = "seqlab.cooccurrence"
COOC_VERSION = 1


def _merge(keys: list[torch.Tensor], values: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum the values of equal keys: (K,) int64 keys, sorted and unique, and their (K,) sums."""
    if len(keys) == 1:
        return keys[0], values[0]
    unique, inverse = torch.unique(torch.cat(keys), sorted=True, return_inverse=True)
    sums = torch.zeros(unique.shape[0], dtype=torch.float64, device=unique.device)
    sums.index_add_(0, inverse, torch.cat(values))
    return unique, sums


def count_pairs(ids: torch.Tensor, line: torch.Tensor, vocab_size: int, window: int,
                distance_weighting: bool = True, chunk_tokens: int = 1 << 18,
                quiet: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Co-occurrence sums of the unordered word pairs within ``window`` of each other.

    ``ids`` (N,) word ids and ``line`` (N,) line numbers (non-decreasing), on any device. Returns
    ``keys`` (K,) int64, sorted, key = min(i, j) * vocab_size + max(i, j), and ``sums`` (K,) float64:
    the summed weights (1/d, or 1) of the pairs of positions p < q <= p + window in the same line
    holding {i, j}. See :class:`Cooccurrence` for X itself.
    """
    return _count(lambda lo, hi: (ids[lo:hi].long(), line[lo:hi].long()), ids.shape[0], ids.device, vocab_size,
                  window, distance_weighting, chunk_tokens, quiet)


def count_encoded_pairs(data: EncodedCorpus, vocab_size: int, window: int, distance_weighting: bool = True,
                        chunk_tokens: int = 1 << 18, device: torch.device | str = "cpu",
                        quiet: bool = True, native: bool = False,
                        memory: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`count_pairs` over an encoded corpus (lines are its sentences), read a chunk at a time:
    the corpus never has to be in memory, or on the device, as a whole. With ``native`` (the CPU), the
    C kernel of :mod:`seqlab.embeddings.cooccur_native` counts, with the same results, within about
    ``memory`` GB besides the matrix (sorted runs spilled to temporary files beyond that; DataError when
    TMPDIR is full or not writable). The torch path ignores ``memory``."""
    device = torch.device(device)
    if native:
        from seqlab.embeddings.cooccur_native import count_pairs_native

        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        with progress_bar(len(data.ids), "co-occurrences", "word", quiet) as bar:
            keys, sums = count_pairs_native(data, vocab_size, window, distance_weighting, memory=memory,
                                            progress=bar.update)
        return torch.from_numpy(keys), torch.from_numpy(sums)
    starts = torch.from_numpy(np.asarray(data.starts, dtype=np.int64)).to(device)

    def fetch(lo: int, hi: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.from_numpy(np.asarray(data.ids[lo:hi])).to(device).long()
        line = torch.searchsorted(starts, torch.arange(lo, hi, device=device), right=True)
        return ids, line

    return _count(fetch, len(data.ids), device, vocab_size, window, distance_weighting, chunk_tokens, quiet)


def _count(fetch, n: int, device: torch.device, vocab_size: int, window: int, distance_weighting: bool,
           chunk_tokens: int, quiet: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The counting loop of :func:`count_pairs`; ``fetch(lo, hi)`` gives positions [lo, hi) as (ids, line)
    int64 tensors on ``device``. Each chunk fetches its positions plus the ``window`` after them."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    offsets = torch.arange(1, window + 1, device=device)
    weights = (1.0 / offsets.double()) if distance_weighting else torch.ones(window, dtype=torch.float64,
                                                                            device=device)
    merged_keys: list[torch.Tensor] = []
    merged_values: list[torch.Tensor] = []
    pending_keys: list[torch.Tensor] = []
    pending_values: list[torch.Tensor] = []
    merged_size = pending_size = 0
    with progress_bar(n, "co-occurrences", "word", quiet) as bar:
        for start in range(0, n, chunk_tokens):
            stop = min(start + chunk_tokens, n)
            ids, line = fetch(start, min(stop + window, n))  # local position i is corpus position start + i
            left = torch.arange(0, stop - start, device=device).unsqueeze(1)  # (C, 1)
            right = left + offsets  # (C, W): each pair is counted once, from its left position
            valid = right < ids.shape[0]
            right = right.clamp_max(ids.shape[0] - 1)
            valid &= line[right] == line[left]
            a, b = ids[left].expand_as(right)[valid], ids[right][valid]
            key = torch.minimum(a, b) * vocab_size + torch.maximum(a, b)
            unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
            sums = torch.zeros(unique.shape[0], dtype=torch.float64, device=device)
            sums.index_add_(0, inverse, weights.expand_as(right)[valid])
            pending_keys.append(unique)
            pending_values.append(sums)
            pending_size += unique.shape[0]
            if pending_size > max(merged_size, 1 << 22):  # amortised: each entry is merged O(log) times
                k, v = _merge(merged_keys + pending_keys, merged_values + pending_values)
                merged_keys, merged_values, merged_size = [k], [v], k.shape[0]
                pending_keys, pending_values, pending_size = [], [], 0
            bar.update(stop - start)
    everything = merged_keys + pending_keys
    if not everything:
        return torch.zeros(0, dtype=torch.long, device=device), torch.zeros(0, dtype=torch.float64, device=device)
    return _merge(everything, merged_values + pending_values)


@dataclass
class Cooccurrence:
    """The sparse co-occurrence matrix of a corpus over a vocabulary.

    ``keys`` (K,) int64 and ``sums`` (K,) float64 hold each unordered pair once (see
    :func:`count_pairs`); :meth:`entries` expands them into the non-zero entries of X.
    ``settings`` records how it was counted (window, distance weighting, corpus and vocabulary
    options), so a saved matrix is only reused for the same settings.
    """

    words: list[str]
    counts: np.ndarray
    total_words: int
    keys: torch.Tensor
    sums: torch.Tensor
    settings: dict[str, Any]

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def nnz(self) -> int:
        """Number of non-zero entries of X (both orders of each off-diagonal pair)."""
        rows, cols = divmod_keys(self.keys, self.vocab_size)
        return int(2 * self.keys.shape[0] - (rows == cols).sum())

    def entries(self, device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The non-zero entries of X: ``rows`` (nnz,), ``cols`` (nnz,) int64 and ``values`` (nnz,) float64.

        Off-diagonal pairs appear in both orders with the same value; a diagonal entry holds twice
        its unordered sum (cooccur.c adds both (w1, w2) and (w2, w1) for equal words).
        """
        keys = self.keys.to(device) if device is not None else self.keys
        sums = self.sums.to(keys.device)
        rows, cols = divmod_keys(keys, self.vocab_size)
        off = rows != cols
        all_rows = torch.cat([rows, cols[off]])
        all_cols = torch.cat([cols, rows[off]])
        values = torch.cat([torch.where(off, sums, 2 * sums), sums[off]])
        return all_rows, all_cols, values

    def dense(self) -> torch.Tensor:
        """X as a dense (V, V) float64 CPU matrix (small vocabularies only: tests and inspection)."""
        rows, cols, values = self.entries("cpu")
        matrix = torch.zeros(self.vocab_size, self.vocab_size, dtype=torch.float64)
        matrix.index_put_((rows, cols), values, accumulate=True)
        return matrix

    # ------------------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (torch format) for reuse with ``seqlab glove train --cooc``."""
        save_checkpoint({"kind": COOC_KIND, "version": COOC_VERSION, "words": self.words,
                         "counts": self.counts, "total_words": self.total_words, "keys": self.keys.cpu(),
                         "sums": self.sums.cpu(), "settings": dict(self.settings)}, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Cooccurrence:
        """Read a matrix written by :meth:`save`; DataError when the file is something else."""
        state = load_checkpoint(path)
        if state.get("kind") != COOC_KIND or state.get("version", 0) > COOC_VERSION:
            raise DataError(f"{path}: is a {state.get('kind')!r} file, not a seqlab co-occurrence matrix")
        return cls(list(state["words"]), np.asarray(state["counts"], dtype=np.int64), int(state["total_words"]),
                   state["keys"], state["sums"], dict(state["settings"]))


def divmod_keys(keys: torch.Tensor, vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, col) of each pair key = row * vocab_size + col."""
    return torch.div(keys, vocab_size, rounding_mode="floor"), keys % vocab_size
