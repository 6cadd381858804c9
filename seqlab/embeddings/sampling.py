"""Random choices of word2vec (Mikolov et al. 2013b, sections 2.2-2.3), as word2vec.c makes them.

- Subsampling of frequent words: a word with count ``c`` among ``T`` training words is kept with
  probability ``(sqrt(c / (s T)) + 1) * (s T) / c`` (capped at 1), the word2vec.c form of the
  paper's ``1 - sqrt(t / f)``.
- Negative samples come from the unigram distribution raised to 3/4.
- The dynamic window: for each centre word the window ``b`` is drawn uniformly from 1..window, so
  near words are used more often than far ones.

:class:`KeptTokens` streams an epoch's subsampled corpus through a bounded buffer.
"""

from __future__ import annotations

import numpy as np
import torch

from seqlab.text.vocab import EncodedCorpus

SEGMENT_TOKENS = 1 << 19  # corpus positions subsampled at a time on the CPU (~25 MB of temporaries)


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability (V,) that each word survives subsampling with threshold ``sample`` (0 = off)."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    prob = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(prob, 1.0)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """The negative-sampling distribution (V,): counts**exponent, normalised."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    return weights / weights.sum()


class NoiseSampler:
    """Draws negative samples on a device with Walker's alias method (Vose's construction).

    Exact for every word, unlike word2vec.c's 1e8-entry table which rounds small probabilities,
    and O(1) per draw with two (V,) tables on the device: pick a column uniformly, keep it with
    probability ``prob[col]``, otherwise take ``alias[col]``.
    """

    def __init__(self, counts: np.ndarray, exponent: float, device: torch.device) -> None:
        probs = noise_distribution(counts, exponent)
        prob, alias = alias_table(probs)
        self.prob = torch.as_tensor(prob, dtype=torch.float32, device=device)
        self.alias = torch.as_tensor(alias, dtype=torch.int64, device=device)
        self.vocab_size = len(probs)

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Word ids (int64) of the given shape, i.i.d. from the noise distribution."""
        dev = self.prob.device
        col = torch.randint(0, self.vocab_size, shape, generator=generator, device=dev)
        coin = torch.rand(shape, generator=generator, device=dev)
        return torch.where(coin < self.prob[col], col, self.alias[col])


def alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias tables (prob (V,), alias (V,)) for the distribution ``probs``."""
    n = len(probs)
    scaled = np.asarray(probs, dtype=np.float64) * n
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return prob, alias  # leftovers keep prob 1 (rounding)


def reduced_windows(n: int, window: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Effective window size (n,) int64 for each of ``n`` centre words, uniform in 1..window."""
    return torch.randint(1, window + 1, (n,), generator=generator, device=device)


class KeptTokens:
    """The tokens of one epoch that survive subsampling, in corpus order, in a sliding buffer.

    The corpus is subsampled ``segment`` positions at a time, the draws (``torch.rand`` from the
    epoch's ``generator``, kept where below ``keep_prob`` of the word) continuing from segment to
    segment, so on the CPU the kept tokens are exactly those of one draw over the whole corpus (a
    CUDA generator draws differently in pieces: give it one segment, the whole corpus). Kept token
    k is at index k - ``offset`` of ``ids``, ``sentence`` and ``position`` (its corpus position),
    (M,) int64 tensors on ``keep_prob``'s device. ``total`` is the number of kept tokens once the
    end of the corpus has been read, None before.
    """

    def __init__(self, data: EncodedCorpus, keep_prob: torch.Tensor, generator: torch.Generator,
                 segment: int = SEGMENT_TOKENS) -> None:
        self.data, self.keep_prob, self.generator, self.segment = data, keep_prob, generator, max(int(segment), 1)
        device = keep_prob.device
        self.starts = torch.from_numpy(np.asarray(data.starts, dtype=np.int64)).to(device)
        self.ids = self.sentence = self.position = torch.zeros(0, dtype=torch.long, device=device)
        self.offset = self.read = 0
        self.total: int | None = None

    def fill(self, keep_from: int, upto: int) -> None:
        """Hold kept tokens [``keep_from``, ``upto``) (fewer at the end of the corpus); drop those
        before ``keep_from``."""
        while self.total is None and self.offset + len(self.ids) < upto:
            self._drop(keep_from)
            self._read_segment()
        self._drop(keep_from)

    def _drop(self, keep_from: int) -> None:
        n = min(max(keep_from - self.offset, 0), len(self.ids))
        if n:
            self.ids, self.sentence, self.position = self.ids[n:], self.sentence[n:], self.position[n:]
            self.offset += n

    def _read_segment(self) -> None:
        lo, n = self.read, len(self.data.ids)
        hi = min(lo + self.segment, n)
        ids = torch.from_numpy(np.asarray(self.data.ids[lo:hi])).to(self.keep_prob.device).long()
        keep = torch.rand(hi - lo, generator=self.generator, device=ids.device) < self.keep_prob[ids]
        where = keep.nonzero().squeeze(1)
        position = where + lo
        sentence = torch.searchsorted(self.starts, position, right=True) - 1
        self.ids = torch.cat([self.ids, ids[where]])
        self.sentence = torch.cat([self.sentence, sentence])
        self.position = torch.cat([self.position, position])
        self.read = hi
        if hi == n:
            self.total = self.offset + len(self.ids)
