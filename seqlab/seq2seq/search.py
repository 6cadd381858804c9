"""Greedy and beam search, batched over sentences and beams (one Python loop over time steps only).

Beam search keeps, for each sentence, the K best unfinished prefixes by summed log-probability.
At each step the K x V continuations are ranked and the best 2K kept (so K survive even if up to
K of them end the sentence). A continuation ending in EOS that ranks among the best K is moved
to the sentence's pool of finished hypotheses, where it is ranked by its length-normalised score

    "length": log P(y|x) / |y|^alpha   (alpha default 0.7; |y| counts the EOS)
    "gnmt":   log P(y|x) / ((5 + |y|) / 6)^alpha   (Wu et al. 2016, eq. 14)

optionally plus GNMT's coverage penalty (Wu et al. 2016, eq. 14), which lowers hypotheses that
left source positions unattended (under-translation):

    cp = beta * sum_i log(min(sum_j a_ij, 1))   (a_ij: attention on source i at output step j; cp <= 0)

and the rest continue. A sentence is done when its n-th best finished hypothesis scores at least
the best unfinished prefix could ever reach (log-probabilities only fall, so that prefix's score
divided by the penalty at the maximum length bounds it), or when it reaches its maximum length,
max_len_ratio x source length + max_len_offset, where EOS is forced. Beam size 1 with alpha 0 is
greedy search. Every tensor stays on the model's device; one host check per step decides whether
all sentences are done.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any, Protocol

import torch

from seqlab.errors import ConfigError
from seqlab.seq2seq.model import map_state
from seqlab.text.subword import BOS, EOS, PAD

PENALTIES = ("length", "gnmt")
NEG_INF = float("-inf")
COVERAGE_FLOOR = 1e-20  # a source position never attended costs beta * log(1e-20), not -inf
MAX_ALPHA = 5.0  # |y|^alpha stays finite in float32 for any output length below 10^7
MAX_LEN_RATIO = 100.0  # the output-length limit: ratio x source length + offset (tokens are kept for all steps)
MAX_LEN_OFFSET = 10_000


class Decoder(Protocol):
    """What a search decodes with: :class:`~seqlab.seq2seq.model.Seq2Seq` and
    :class:`~seqlab.seq2seq.ensemble.Ensemble` both provide it.

    ``step`` returns next-token *scores* (N, V) whose ``log_softmax`` is the next-token log-probabilities:
    a model's logits, or an ensemble's averaged log-probabilities (already normalised, so log_softmax
    leaves them as they are). The search applies log_softmax to whatever comes back.
    """

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """(memory (B, S, M), mask (B, S), initial decoder state)."""

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """The attention keys of ``memory``, computed once per sentence."""

    def initial_feed(self, batch: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """The input-feeding vector before the first step (batch, F)."""

    def step(self, prev: torch.Tensor, state: Any, feed: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor,
             mask: torch.Tensor) -> tuple[torch.Tensor, Any, torch.Tensor, torch.Tensor]:
        """prev (N,) -> (scores (N, V), state, feed, attention weights (N, S))."""


def check_decoding(beam: int = 5, nbest: int = 1, alpha: float = 0.7, beta: float = 0.0, penalty: str = "length",
                   max_len_ratio: float = 1.5, max_len_offset: int = 10) -> None:
    """ConfigError naming the first setting of a search that would decode garbage (a NaN or infinite score,
    an unbounded output length) or cannot run; the arguments are those of :func:`beam_search`."""
    checks = [
        (isinstance(beam, Integral) and beam >= 1, f"the beam size must be an integer >= 1, got {beam!r}"),
        (isinstance(nbest, Integral) and 1 <= nbest <= max(beam, 1),
         f"nbest must be an integer in [1, beam] (beam {beam}), got {nbest!r}"),
        (0 <= alpha <= MAX_ALPHA, f"the length-penalty exponent alpha must be in [0, {MAX_ALPHA:g}] "
                                  f"(0: no normalisation), got {alpha!r}"),
        (0 <= beta < float("inf"), f"the coverage penalty beta must be >= 0 and finite (0: off), got {beta!r}"),
        (penalty in PENALTIES, f"unknown length penalty {penalty!r}; choose one of {', '.join(PENALTIES)}"),
        (0 <= max_len_ratio <= MAX_LEN_RATIO,
         f"max_len_ratio must be in [0, {MAX_LEN_RATIO:g}], got {max_len_ratio!r}"),
        (isinstance(max_len_offset, Integral) and 0 <= max_len_offset <= MAX_LEN_OFFSET,
         f"max_len_offset must be an integer in [0, {MAX_LEN_OFFSET}], got {max_len_offset!r}"),
    ]
    for ok, message in checks:  # NaN fails every comparison above, so it is refused too
        if not ok:
            raise ConfigError(message)


def length_penalty(lengths: torch.Tensor, alpha: float, kind: str = "length") -> torch.Tensor:
    """The divisor of the summed log-probability for hypotheses of ``lengths`` tokens (EOS included)."""
    lengths = lengths.to(torch.float32)
    if kind == "length":
        return lengths.clamp_min(1.0) ** alpha
    if kind == "gnmt":
        return ((5.0 + lengths) / 6.0) ** alpha
    raise ValueError(f"unknown length penalty {kind!r}; choose one of {', '.join(PENALTIES)}")


def coverage_penalty(coverage: torch.Tensor, mask: torch.Tensor, beta: float) -> torch.Tensor:
    """GNMT's cp = beta * sum_i log(min(c_i, 1)) over the real source positions (``mask``), for the
    summed attention ``coverage`` (..., S) of a hypothesis: (...,) float, at most 0."""
    logs = coverage.float().clamp(COVERAGE_FLOOR, 1.0).log()
    return beta * logs.masked_fill(~mask, 0.0).sum(-1)


@dataclass
class SearchResult:
    """n-best hypotheses per sentence: tokens (B, N, T) padded with PAD (no BOS, EOS kept),
    lengths (B, N) with the EOS, log-probabilities (B, N) and normalised scores (B, N)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    log_probs: torch.Tensor
    scores: torch.Tensor

    def best(self) -> list[list[int]]:
        """The best hypothesis of each sentence as a list of ids without EOS."""
        out = []
        for row, n in zip(self.tokens[:, 0].tolist(), self.lengths[:, 0].tolist(), strict=True):
            out.append([t for t in row[:n] if t != EOS])
        return out

    def nbest(self) -> list[list[tuple[list[int], float]]]:
        """Per sentence, [(ids without EOS, normalised score), ...] best first (finite scores only)."""
        out = []
        tokens, lengths, scores = self.tokens.tolist(), self.lengths.tolist(), self.scores.tolist()
        for rows, ns, ss in zip(tokens, lengths, scores, strict=True):
            out.append([([t for t in r[:n] if t != EOS], s) for r, n, s in zip(rows, ns, ss, strict=True)
                        if s != NEG_INF])
        return out


def max_lengths(src_lengths: torch.Tensor, ratio: float, offset: int) -> torch.Tensor:
    """Per-sentence maximum output length (EOS included), at least 1."""
    return (src_lengths.to(torch.float32) * ratio + offset).floor().to(torch.long).clamp_min(1)


def _expand(t: torch.Tensor, k: int) -> torch.Tensor:
    return t.repeat_interleave(k, dim=0)


@torch.no_grad()
def greedy_search(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, max_len_ratio: float = 1.5,
                  max_len_offset: int = 10) -> SearchResult:
    """The argmax token at every step, until EOS (forced at the maximum length)."""
    check_decoding(max_len_ratio=max_len_ratio, max_len_offset=max_len_offset)
    b = src.shape[0]
    memory, mask, state = model.encode(src, src_lengths)
    keys = model.keys(memory)
    feed = model.initial_feed(b, src.device, memory.dtype)
    limit = max_lengths(src_lengths, max_len_ratio, max_len_offset)
    steps = int(limit.max())
    tokens = torch.full((b, steps), PAD, dtype=torch.long, device=src.device)
    log_probs = torch.zeros(b, device=src.device)
    lengths = torch.zeros(b, dtype=torch.long, device=src.device)
    done = torch.zeros(b, dtype=torch.bool, device=src.device)
    prev = torch.full((b,), BOS, dtype=torch.long, device=src.device)
    for t in range(steps):
        logits, state, feed, _ = model.step(prev, state, feed, memory, keys, mask)
        logp = _allowed(torch.log_softmax(logits.float(), -1), t, limit)
        best, token = logp.max(1)
        token = token.masked_fill(done, PAD)
        log_probs += best.masked_fill(done, 0.0)
        tokens[:, t] = token
        lengths += (~done).long()
        done |= token == EOS
        prev = token.masked_fill(done, EOS)
        if (t + 1) % 4 == 0 and bool(done.all()):
            break
    return SearchResult(tokens.unsqueeze(1), lengths.unsqueeze(1), log_probs.unsqueeze(1),
                        log_probs.unsqueeze(1) / length_penalty(lengths.unsqueeze(1), 0.0))


def _allowed(logp: torch.Tensor, t: int, limit: torch.Tensor) -> torch.Tensor:
    """Never PAD or BOS; only EOS for rows at their maximum length (t + 1 == limit)."""
    logp[:, PAD] = NEG_INF
    logp[:, BOS] = NEG_INF
    at_limit = (t + 1 >= limit).unsqueeze(1)
    eos_only = torch.full_like(logp, NEG_INF)
    eos_only[:, EOS] = logp[:, EOS].clamp_min(torch.finfo(logp.dtype).min)
    return torch.where(at_limit, eos_only, logp)


@torch.no_grad()
def beam_search(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, beam: int = 5, alpha: float = 0.7,
                penalty: str = "length", nbest: int = 1, max_len_ratio: float = 1.5,
                max_len_offset: int = 10, beta: float = 0.0) -> SearchResult:
    """Length-normalised beam search (with coverage penalty ``beta`` > 0); returns the ``nbest`` (<= beam)
    best finished hypotheses."""
    check_decoding(beam, nbest, alpha, beta, penalty, max_len_ratio, max_len_offset)
    b, k, device = src.shape[0], beam, src.device
    memory, mask, state = model.encode(src, src_lengths)
    keys = model.keys(memory)
    memory, keys, mask = _expand(memory, k), _expand(keys, k), _expand(mask, k)
    state = map_state(state, lambda s: s.repeat_interleave(k, dim=1))
    feed = model.initial_feed(b * k, device, memory.dtype)
    limit = max_lengths(src_lengths, max_len_ratio, max_len_offset)
    steps = int(limit.max())
    limit_beams = _expand(limit, k)
    bound_penalty = length_penalty(limit, alpha, penalty)

    alive_scores = torch.full((b, k), NEG_INF, device=device)
    alive_scores[:, 0] = 0.0  # at first only one prefix, BOS
    alive_tokens = torch.zeros(b, k, 0, dtype=torch.long, device=device)
    fin_scores = torch.full((b, k), NEG_INF, device=device)
    fin_logp = torch.full((b, k), NEG_INF, device=device)
    fin_tokens = torch.full((b, k, steps), PAD, dtype=torch.long, device=device)
    fin_lengths = torch.zeros(b, k, dtype=torch.long, device=device)
    prev = torch.full((b * k,), BOS, dtype=torch.long, device=device)
    rows = torch.arange(b, device=device).unsqueeze(1)
    coverage = torch.zeros(b * k, memory.shape[1], device=device) if beta > 0 else None

    for t in range(steps):
        logits, state, feed, weights = model.step(prev, state, feed, memory, keys, mask)
        logp = _allowed(torch.log_softmax(logits.float(), -1), t, limit_beams)
        vocab = logp.shape[1]
        cand = (alive_scores.view(-1, 1) + logp).view(b, k * vocab)
        top_scores, top_index = cand.topk(min(2 * k, k * vocab), dim=1)  # (B, 2K), best first
        origin, token = top_index // vocab, top_index % vocab
        prefixes = alive_tokens[rows, origin]  # (B, 2K, t)

        # finished: EOS continuations ranked among the best K
        rank_ok = torch.arange(top_scores.shape[1], device=device).unsqueeze(0) < k
        ends = (token == EOS) & rank_ok & (top_scores > NEG_INF)
        norm = top_scores / length_penalty(torch.tensor(t + 1, device=device), alpha, penalty)
        if coverage is not None:  # this step's attention came before its token: cp depends on the origin
            coverage = coverage + weights.float()
            norm = norm + coverage_penalty(coverage, mask, beta).view(b, k).gather(1, origin)
        new_scores = norm.masked_fill(~ends, NEG_INF)
        new_tokens = torch.full((b, top_scores.shape[1], steps), PAD, dtype=torch.long, device=device)
        new_tokens[:, :, :t] = prefixes
        new_tokens[:, :, t] = EOS
        pool_scores = torch.cat([fin_scores, new_scores], 1)
        fin_scores, keep = pool_scores.topk(k, dim=1)
        fin_logp = torch.cat([fin_logp, top_scores.masked_fill(~ends, NEG_INF)], 1).gather(1, keep)
        fin_tokens = torch.cat([fin_tokens, new_tokens], 1)[rows, keep]
        fin_lengths = torch.cat([fin_lengths, torch.full_like(new_scores, t + 1, dtype=torch.long)], 1).gather(1, keep)

        # alive: the best K continuations that do not end here
        cont_scores = top_scores.masked_fill(token == EOS, NEG_INF)
        alive_scores, pick = cont_scores.topk(k, dim=1)
        src_beam = origin.gather(1, pick)
        alive_tokens = torch.cat([prefixes.gather(1, pick.unsqueeze(2).expand(-1, -1, t)),
                                  token.gather(1, pick).unsqueeze(2)], 2)
        flat = (rows * k + src_beam).view(-1)
        state = map_state(state, lambda s, flat=flat: s.index_select(1, flat))
        feed = feed.index_select(0, flat)
        if coverage is not None:
            coverage = coverage.index_select(0, flat)
        prev = alive_tokens[:, :, -1].reshape(-1)

        # done: the n-th best finished beats anything the best alive prefix could still reach (cp <= 0)
        bound = alive_scores[:, 0] / bound_penalty
        done = (fin_scores[:, nbest - 1] >= bound) | (t + 1 >= limit)
        alive_scores = alive_scores.masked_fill(done.unsqueeze(1), NEG_INF)
        if bool(done.all()):
            break
    return SearchResult(fin_tokens[:, :nbest], fin_lengths[:, :nbest], fin_logp[:, :nbest], fin_scores[:, :nbest])


@dataclass(frozen=True)
class Decoding:
    """How to decode: the decode section of a seq2seq config, and the one object a search takes (see the
    module docstring for each setting; ``coverage_beta`` is the ``beta`` of the command line and the API)."""

    SECTION = "decode"

    beam: int = 5
    alpha: float = 0.7
    penalty: str = "length"
    coverage_beta: float = 0.0  # GNMT coverage penalty weight in beam search (Wu et al. 2016 used 0.2; 0 = off)
    max_len_ratio: float = 1.5
    max_len_offset: int = 10
    nbest: int = 1  # hypotheses kept per sentence

    def check(self) -> None:
        """ConfigError for settings that would decode garbage (see :func:`check_decoding`)."""
        check_decoding(self.beam, self.nbest, self.alpha, self.coverage_beta, self.penalty, self.max_len_ratio,
                       self.max_len_offset)


def search(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, decoding: Decoding) -> SearchResult:
    """Greedy search for beam 1 with nbest 1, beam search otherwise."""
    d = decoding
    if d.beam == 1 and d.nbest == 1:
        return greedy_search(model, src, src_lengths, d.max_len_ratio, d.max_len_offset)
    return beam_search(model, src, src_lengths, beam=d.beam, alpha=d.alpha, penalty=d.penalty, nbest=d.nbest,
                       max_len_ratio=d.max_len_ratio, max_len_offset=d.max_len_offset, beta=d.coverage_beta)


def translate_ids(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, beam: int = 5,
                  alpha: float = 0.7, penalty: str = "length", nbest: int = 1, max_len_ratio: float = 1.5,
                  max_len_offset: int = 10, beta: float = 0.0) -> SearchResult:
    """:func:`search` with the settings spelt out (greedy for beam 1 with nbest 1, beam search otherwise)."""
    return search(model, src, src_lengths, Decoding(beam, alpha, penalty, beta, max_len_ratio, max_len_offset, nbest))
