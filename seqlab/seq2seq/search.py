"""Greedy search, beam search and ancestral sampling, batched over sentences and beams (one Python loop over
time steps only), with rules on what each step may emit.

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
greedy search. Sampling (``sample``, as fairseq's ``--sampling``) draws ``beam`` independent outputs per
sentence from the model's distribution, reshaped by :mod:`seqlab.seq2seq.sampling`, and keeps the ``nbest``
with the best normalised score; a sample's log P(y|x) is the model's own, not the reshaped distribution's.

The rules every search obeys at step t (:func:`_allowed`; fairseq's ``SequenceGenerator`` semantics):
never PAD or BOS; with ``min_len`` m, no EOS before m tokens (EOS not counted: at t < m); with
``no_repeat_ngram`` n, no token that would complete an n-gram the hypothesis already holds
(:func:`block_repeated_ngrams`); with a target ``prefix`` p, only p_t while t < |p| (the prefix's
log-probabilities count in the score, and every beam of the sentence follows it); and at the maximum length
(at least |p| + 1), EOS only, which overrides the other rules. A hypothesis that no rule lets continue ends
with the score -inf and is dropped from the n-best list. Every tensor stays on the model's device; one host
check per step decides whether all sentences are done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Protocol

import torch

from seqlab.config import setting
from seqlab.errors import ConfigError
from seqlab.seq2seq.model import map_state
from seqlab.seq2seq.sampling import draw, sampling_logits
from seqlab.text.padding import pad_ids
from seqlab.text.subword import BOS, EOS, PAD

PENALTIES = ("length", "gnmt")
NEG_INF = float("-inf")
COVERAGE_FLOOR = 1e-20  # a source position never attended costs beta * log(1e-20), not -inf
MAX_ALPHA = 5.0  # |y|^alpha stays finite in float32 for any output length below 10^7
MAX_LEN_RATIO = 100.0  # the output-length limit: ratio x source length + offset (tokens are kept for all steps)
MAX_LEN_OFFSET = 10_000
MAX_SEED = 2**63
MAX_BETA = 1e6  # beta x log(COVERAGE_FLOOR) x source length stays finite in float32 (a larger one made 0 x inf = NaN)


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
                   max_len_ratio: float = 1.5, max_len_offset: int = 10, *, sample: bool = False,
                   temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, sample_seed: int = 0,
                   min_len: int = 0, no_repeat_ngram: int = 0, replace_unk: bool = False) -> None:
    """ConfigError naming the first setting of a search that would decode garbage (a NaN or infinite score,
    an unbounded output length) or cannot run; the arguments are the fields of :class:`Decoding`."""
    def integer(value: object, low: int, high: int) -> bool:
        return isinstance(value, Integral) and not isinstance(value, bool) and low <= value <= high

    checks = [
        (isinstance(beam, Integral) and beam >= 1, f"the beam size must be an integer >= 1, got {beam!r}"),
        (isinstance(nbest, Integral) and 1 <= nbest <= max(beam, 1),
         f"nbest must be an integer in [1, beam] (beam {beam}), got {nbest!r}"),
        (0 <= alpha <= MAX_ALPHA, f"the length-penalty exponent alpha must be in [0, {MAX_ALPHA:g}] "
                                  f"(0: no normalisation), got {alpha!r}"),
        (0 <= beta <= MAX_BETA, f"the coverage penalty beta must be >= 0 and finite (at most {MAX_BETA:g}; 0: off), "
                                f"got {beta!r}"),
        (penalty in PENALTIES, f"unknown length penalty {penalty!r}; choose one of {', '.join(PENALTIES)}"),
        (0 <= max_len_ratio <= MAX_LEN_RATIO,
         f"max_len_ratio must be in [0, {MAX_LEN_RATIO:g}], got {max_len_ratio!r}"),
        (isinstance(max_len_offset, Integral) and 0 <= max_len_offset <= MAX_LEN_OFFSET,
         f"max_len_offset must be an integer in [0, {MAX_LEN_OFFSET}], got {max_len_offset!r}"),
        (isinstance(sample, bool), f"sample must be true or false, got {sample!r}"),
        (0 < temperature < float("inf"), f"the sampling temperature must be > 0 and finite, got {temperature!r}"),
        (integer(top_k, 0, 2**31 - 1), f"top_k must be an integer >= 0 (0: off), got {top_k!r}"),
        (0 < top_p <= 1, f"top_p must be in (0, 1] (1: off), got {top_p!r}"),
        (integer(sample_seed, 0, MAX_SEED - 1), f"the sampling seed must be an integer in [0, 2^63), "
                                                f"got {sample_seed!r}"),
        (integer(min_len, 0, MAX_LEN_OFFSET), f"min_len must be an integer in [0, {MAX_LEN_OFFSET}], got {min_len!r}"),
        (integer(no_repeat_ngram, 0, MAX_LEN_OFFSET),
         f"no_repeat_ngram must be an integer in [0, {MAX_LEN_OFFSET}] (0: off), got {no_repeat_ngram!r}"),
        (isinstance(replace_unk, bool), f"replace_unk must be true or false, got {replace_unk!r}"),
    ]
    for ok, message in checks:  # NaN fails every comparison above, so it is refused too
        if not ok:
            raise ConfigError(message)


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
    sample: bool = setting(False, "Ancestral sampling instead of search: beam independent samples a sentence, the "
                                  "nbest of them with the best score kept (fairseq's --sampling).")
    temperature: float = setting(1.0, "Sampling temperature T: the logits divided by T (< 1 sharper, > 1 flatter).")
    top_k: int = setting(0, "Sample among the k most probable tokens only (0: all).")
    top_p: float = setting(1.0, "Nucleus sampling: among the fewest most probable tokens whose probability adds "
                                "up to p (1: all).")
    sample_seed: int = setting(0, "Seed of the sampling generator: the same seed, input and device give the same "
                                  "samples (a GPU draws other samples than the CPU).")
    min_len: int = setting(0, "Minimum output length in subwords, the end of sentence not counted.")
    no_repeat_ngram: int = setting(0, "Never repeat an n-gram of this many subwords within an output (0: off).")
    replace_unk: bool = setting(False, "Replace each <unk> of an output with the source piece it attends to most.")

    def check(self) -> None:
        """ConfigError for settings that would decode garbage (see :func:`check_decoding`)."""
        check_decoding(self.beam, self.nbest, self.alpha, self.coverage_beta, self.penalty, self.max_len_ratio,
                       self.max_len_offset, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                                               if f.name not in _SEARCH_FIELDS})


_SEARCH_FIELDS = ("beam", "alpha", "penalty", "coverage_beta", "max_len_ratio", "max_len_offset", "nbest")


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
    lengths (B, N) with the EOS, log-probabilities (B, N), normalised scores (B, N) and, when the search was
    asked for it, the attention (B, N, T, S) of each output step over the source (0 after the EOS)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    log_probs: torch.Tensor
    scores: torch.Tensor
    attention: torch.Tensor | None = None

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

    def alignments(self) -> list[list[list[int]]]:
        """Per sentence and hypothesis of :meth:`nbest`, the most-attended source position of each output token
        (EOS excluded): the hard alignment fairseq's ``--replace-unk`` copies from. Needs the attention."""
        if self.attention is None:
            raise ValueError("this search kept no attention: search again with return_attention=True")
        positions, lengths, scores = self.attention.argmax(-1).tolist(), self.lengths.tolist(), self.scores.tolist()
        return [[p[:n - 1] for p, n, s in zip(ps, ns, ss, strict=True) if s != NEG_INF]
                for ps, ns, ss in zip(positions, lengths, scores, strict=True)]


def max_lengths(src_lengths: torch.Tensor, ratio: float, offset: int) -> torch.Tensor:
    """Per-sentence maximum output length (EOS included), at least 1."""
    return (src_lengths.to(torch.float32) * ratio + offset).floor().to(torch.long).clamp_min(1)


def _expand(t: torch.Tensor, k: int) -> torch.Tensor:
    return t.repeat_interleave(k, dim=0)


@dataclass
class Rules:
    """What each row of a search (a sentence, or a sentence's beam or sample) may emit: its maximum output
    length ``limit`` (N,) with EOS, ``min_len``, ``no_repeat_ngram`` and the ``prefix`` (N, P) it is forced
    to begin with (PAD where it is free). See the module docstring."""

    limit: torch.Tensor
    min_len: int = 0
    no_repeat_ngram: int = 0
    prefix: torch.Tensor | None = None

    @classmethod
    def of(cls, decoding: Decoding, src_lengths: torch.Tensor, prefix: Sequence[Sequence[int]] | None = None,
           rows: int = 1) -> Rules:
        """The rules of a batch of sentences (B,) with ``rows`` rows each; ``prefix``: ragged target ids per
        sentence ([] for none). The maximum length grows to fit each prefix and EOS."""
        limit = max_lengths(src_lengths, decoding.max_len_ratio, decoding.max_len_offset)
        forced = None
        if prefix is not None:
            if len(prefix) != len(src_lengths):
                raise ValueError(f"{len(prefix)} prefixes for {len(src_lengths)} sentences")
            if any(int(i) in (PAD, BOS, EOS) for ids in prefix for i in ids):
                raise ConfigError("a target prefix holds a special id (pad, bos or eos); give subword ids only")
            forced, sizes = pad_ids(prefix, src_lengths.device, pad=PAD)
            limit = torch.maximum(limit, sizes + 1)
            forced = _expand(forced, rows)
        return cls(_expand(limit, rows), decoding.min_len, decoding.no_repeat_ngram, forced)


def block_repeated_ngrams(logp: torch.Tensor, history: torch.Tensor, n: int) -> torch.Tensor:
    """``logp`` (N, V) with -inf at each token that would complete an n-gram already in its row's ``history``
    (N, t) of emitted tokens (fairseq's ``NGramRepeatBlock``): the tokens that followed an earlier occurrence
    of the last n - 1 tokens. One comparison of all windows of all rows: no loop over hypotheses."""
    t = history.shape[1]
    if n < 1 or t < n:
        return logp
    windows = history.unfold(1, n, 1)  # (N, t - n + 1, n): every n-gram so far
    tail = history[:, t - n + 1:]  # the last n - 1 tokens: an n-gram in the making
    repeats = (windows[:, :, :-1] == tail.unsqueeze(1)).all(-1)
    banned = torch.zeros_like(logp).scatter_add_(1, windows[:, :, -1], repeats.to(logp.dtype))
    return logp.masked_fill(banned > 0, NEG_INF)


def _allowed(logp: torch.Tensor, t: int, rules: Rules, history: torch.Tensor) -> torch.Tensor:
    """The log-probabilities (N, V) of step ``t`` under the search ``rules``, after the ``history`` (N, t): never
    PAD or BOS; no EOS before min_len; no repeated n-gram; the prefix's token while it lasts (its own
    log-probability, whatever the other rules say); only EOS for rows at their maximum length (t + 1 == limit)."""
    raw, logp = logp, logp.clone()
    logp[:, PAD] = NEG_INF
    logp[:, BOS] = NEG_INF
    if t < rules.min_len:
        logp[:, EOS] = NEG_INF
    if rules.no_repeat_ngram:
        logp = block_repeated_ngrams(logp, history, rules.no_repeat_ngram)
    if rules.prefix is not None and t < rules.prefix.shape[1]:
        logp = _only(logp, raw, rules.prefix[:, t], rules.prefix[:, t] != PAD)
    return _only(logp, raw, torch.full_like(rules.limit, EOS), t + 1 >= rules.limit)


def _only(logp: torch.Tensor, raw: torch.Tensor, token: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """``logp`` with the rows ``where`` (N,) allowing only ``token`` (N,), at its ``raw`` log-probability (kept
    finite: a forced token is never impossible)."""
    forced = raw.gather(1, token.unsqueeze(1)).clamp_min(torch.finfo(raw.dtype).min)
    only = torch.full_like(logp, NEG_INF).scatter_(1, token.unsqueeze(1), forced)
    return torch.where(where.unsqueeze(1), only, logp)


Pick = Callable[[torch.Tensor], torch.Tensor]


def _decode_rows(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, decoding: Decoding, rows: int,
                 pick: Pick, prefix: Sequence[Sequence[int]] | None, return_attention: bool) -> SearchResult:
    """``rows`` independent outputs per sentence, each token ``pick``ed from the allowed log-probabilities (N, V)
    of its row (the argmax, or a draw), until EOS; the ``nbest`` best by normalised score, best first."""
    b, k, device, d = src.shape[0], rows, src.device, decoding
    memory, mask, state = model.encode(src, src_lengths)
    keys = model.keys(memory)
    if k > 1:
        memory, keys, mask = _expand(memory, k), _expand(keys, k), _expand(mask, k)
        state = map_state(state, lambda s: s.repeat_interleave(k, dim=1))
    n = b * k
    feed = model.initial_feed(n, device, memory.dtype)
    rules = Rules.of(d, src_lengths, prefix, k)
    steps = int(rules.limit.max())
    tokens = torch.full((n, steps), PAD, dtype=torch.long, device=device)
    log_probs = torch.zeros(n, device=device)
    lengths = torch.zeros(n, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    prev = torch.full((n,), BOS, dtype=torch.long, device=device)
    attention = torch.zeros(n, steps, memory.shape[1], device=device) if return_attention else None
    coverage = torch.zeros(n, memory.shape[1], device=device) if d.coverage_beta > 0 else None
    for t in range(steps):
        logits, state, feed, weights = model.step(prev, state, feed, memory, keys, mask)
        logp = _allowed(torch.log_softmax(logits.float(), -1), t, rules, tokens[:, :t])
        stuck = logp.amax(1) == NEG_INF  # the rules allow nothing: the row ends here, scored -inf
        token = pick(torch.where(stuck.unsqueeze(1) & (torch.arange(logp.shape[1], device=device) == EOS),
                                 0.0, logp))
        log_probs += logp.gather(1, token.unsqueeze(1)).squeeze(1).masked_fill(done, 0.0)
        live = (~done).unsqueeze(1)
        if attention is not None:
            attention[:, t] = weights.float() * live
        if coverage is not None:
            coverage += weights.float() * live
        token = token.masked_fill(done, PAD)
        tokens[:, t] = token
        lengths += (~done).long()
        done |= token == EOS
        prev = token.masked_fill(done, EOS)
        if (t + 1) % 4 == 0 and bool(done.all()):
            break
    scores = log_probs / length_penalty(lengths, d.alpha, d.penalty)
    if coverage is not None:
        scores = scores + coverage_penalty(coverage, mask, d.coverage_beta)
    order = scores.view(b, k).sort(dim=1, descending=True, stable=True).indices[:, :d.nbest]
    flat = (torch.arange(b, device=device).unsqueeze(1) * k + order).view(-1)

    def best(x: torch.Tensor) -> torch.Tensor:
        return x.index_select(0, flat).view(b, -1, *x.shape[1:])

    return SearchResult(best(tokens), best(lengths), best(log_probs), best(scores),
                        best(attention) if attention is not None else None)


def _argmax(logp: torch.Tensor) -> torch.Tensor:
    return logp.argmax(1)


@torch.no_grad()
def greedy_search(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, max_len_ratio: float = 1.5,
                  max_len_offset: int = 10, *, prefix: Sequence[Sequence[int]] | None = None,
                  return_attention: bool = False, **rules: Any) -> SearchResult:
    """The argmax token at every step, until EOS (forced at the maximum length); ``rules``: ``min_len``,
    ``no_repeat_ngram`` (see :class:`Decoding`); ``prefix``: target ids each output is forced to begin with."""
    decoding = Decoding(beam=1, alpha=0.0, max_len_ratio=max_len_ratio, max_len_offset=max_len_offset, **rules)
    decoding.check()
    return _decode_rows(model, src, src_lengths, decoding, 1, _argmax, prefix, return_attention)


@torch.no_grad()
def sample_search(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, decoding: Decoding, *,
                  prefix: Sequence[Sequence[int]] | None = None, return_attention: bool = False,
                  generator: torch.Generator | None = None) -> SearchResult:
    """Ancestral sampling: ``decoding.beam`` samples per sentence, each token drawn from the next-token
    distribution reshaped by ``temperature``, ``top_k`` and ``top_p`` under the search rules; the ``nbest`` with
    the best normalised score, best first. ``generator`` (on ``src``'s device) defaults to one seeded with
    ``sample_seed``. All rows draw from one stream: the same batch, seed and device give the same samples, but
    a sentence's samples depend on the other sentences of its batch (their distribution does not)."""
    decoding.check()
    if generator is None:
        generator = torch.Generator(src.device).manual_seed(decoding.sample_seed)
    d = decoding

    def pick(logp: torch.Tensor) -> torch.Tensor:
        return draw(sampling_logits(logp, d.temperature, d.top_k, d.top_p), generator)

    return _decode_rows(model, src, src_lengths, decoding, decoding.beam, pick, prefix, return_attention)


@torch.no_grad()
def beam_search(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, beam: int = 5, alpha: float = 0.7,
                penalty: str = "length", nbest: int = 1, max_len_ratio: float = 1.5,
                max_len_offset: int = 10, beta: float = 0.0, *, prefix: Sequence[Sequence[int]] | None = None,
                return_attention: bool = False, **rules: Any) -> SearchResult:
    """Length-normalised beam search (with coverage penalty ``beta`` > 0); returns the ``nbest`` (<= beam)
    best finished hypotheses. ``rules``: ``min_len``, ``no_repeat_ngram`` (see :class:`Decoding`); ``prefix``:
    target ids each output is forced to begin with (every beam of a sentence follows its prefix)."""
    decoding = Decoding(beam, alpha, penalty, beta, max_len_ratio, max_len_offset, nbest, **rules)
    decoding.check()
    b, k, device = src.shape[0], beam, src.device
    memory, mask, state = model.encode(src, src_lengths)
    keys = model.keys(memory)
    memory, keys, mask = _expand(memory, k), _expand(keys, k), _expand(mask, k)
    state = map_state(state, lambda s: s.repeat_interleave(k, dim=1))
    feed = model.initial_feed(b * k, device, memory.dtype)
    rules_ = Rules.of(decoding, src_lengths, prefix, k)
    limit = rules_.limit.view(b, k)[:, 0]
    steps = int(limit.max())
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
    source = memory.shape[1]
    alive_attn = torch.zeros(b, k, 0, source, device=device) if return_attention else None
    fin_attn = torch.zeros(b, k, steps, source, device=device) if return_attention else None

    for t in range(steps):
        logits, state, feed, weights = model.step(prev, state, feed, memory, keys, mask)
        logp = _allowed(torch.log_softmax(logits.float(), -1), t, rules_, alive_tokens.view(b * k, t))
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
        if alive_attn is not None:  # each candidate's attention rows: its origin's, then this step's
            cand_attn = torch.cat([alive_attn[rows, origin], weights.float().view(b, k, source)[rows, origin]
                                   .unsqueeze(2)], 2)
            new_attn = torch.zeros(b, top_scores.shape[1], steps, source, device=device)
            new_attn[:, :, :t + 1] = cand_attn
            fin_attn = torch.cat([fin_attn, new_attn], 1)[rows, keep]

        # alive: the best K continuations that do not end here
        cont_scores = top_scores.masked_fill(token == EOS, NEG_INF)
        alive_scores, pick = cont_scores.topk(k, dim=1)
        src_beam = origin.gather(1, pick)
        alive_tokens = torch.cat([prefixes.gather(1, pick.unsqueeze(2).expand(-1, -1, t)),
                                  token.gather(1, pick).unsqueeze(2)], 2)
        if alive_attn is not None:
            alive_attn = cand_attn[rows, pick]
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
    return SearchResult(fin_tokens[:, :nbest], fin_lengths[:, :nbest], fin_logp[:, :nbest], fin_scores[:, :nbest],
                        fin_attn[:, :nbest] if fin_attn is not None else None)


def search(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, decoding: Decoding, *,
           prefix: Sequence[Sequence[int]] | None = None, return_attention: bool = False,
           generator: torch.Generator | None = None) -> SearchResult:
    """Sampling with ``sample``; else greedy search for beam 1 with nbest 1, beam search otherwise. ``prefix``:
    target ids per sentence each output begins with; ``return_attention``: keep each output's attention;
    ``generator``: the sampling's (default: seeded with ``decoding.sample_seed``)."""
    d = decoding
    rules = {"min_len": d.min_len, "no_repeat_ngram": d.no_repeat_ngram}
    if d.sample:
        return sample_search(model, src, src_lengths, d, prefix=prefix, return_attention=return_attention,
                             generator=generator)
    if d.beam == 1 and d.nbest == 1:
        return greedy_search(model, src, src_lengths, d.max_len_ratio, d.max_len_offset, prefix=prefix,
                             return_attention=return_attention, **rules)
    return beam_search(model, src, src_lengths, beam=d.beam, alpha=d.alpha, penalty=d.penalty, nbest=d.nbest,
                       max_len_ratio=d.max_len_ratio, max_len_offset=d.max_len_offset, beta=d.coverage_beta,
                       prefix=prefix, return_attention=return_attention, **rules)


def translate_ids(model: Decoder, src: torch.Tensor, src_lengths: torch.Tensor, beam: int = 5,
                  alpha: float = 0.7, penalty: str = "length", nbest: int = 1, max_len_ratio: float = 1.5,
                  max_len_offset: int = 10, beta: float = 0.0) -> SearchResult:
    """:func:`search` with the settings spelt out (greedy for beam 1 with nbest 1, beam search otherwise)."""
    return search(model, src, src_lengths, Decoding(beam, alpha, penalty, beta, max_len_ratio, max_len_offset, nbest))
