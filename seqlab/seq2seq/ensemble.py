"""Ensembles of translation models (Sutskever et al. 2014, sec. 3.6; Luong et al. 2015, sec. 4.1).

At every decoder step the members' next-token distributions are averaged,

    p(y_t | y_<t, x) = (1 / M) sum_m p_m(y_t | y_<t, x),

and greedy or beam search runs on the average exactly as on one model. The members must share the
source and target subword vocabularies (trained from the same data with the same subword settings);
their architectures (sizes, cells, attention) may differ.

:class:`Ensemble` offers the decoding interface of :class:`~seqlab.seq2seq.model.Seq2Seq` (encode,
keys, initial_feed, step, forward, score). It packs the members' tensors side by side so that the
search code runs unchanged: memories, keys and attentional vectors are concatenated along their last
dimension (each member's width is fixed by its architecture), and the decoder states form one flat
tuple whose tensors all have the batch in dimension 1, as a single model's states do. ``step`` and
``forward`` return log-probabilities, which log_softmax leaves as they are.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlab.seq2seq.model import Seq2Seq, State


class Ensemble(nn.Module):
    """Average of the members' next-token distributions; decode it as a Seq2Seq."""

    def __init__(self, members: list[Seq2Seq]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        vocab = {(m.cfg.src_vocab, m.cfg.tgt_vocab) for m in members}
        if len(vocab) > 1:
            raise ValueError(f"ensemble members have different vocabulary sizes: {sorted(vocab)}")
        self.members = nn.ModuleList(members)
        self.memory_widths = [2 * m.cfg.hidden_size for m in members]
        self.key_widths = [m.attention.key_proj.out_features for m in members]  # W m_s / W_k m_s
        self.feed_widths = [m.cfg.hidden_size for m in members]
        self.state_arity = [2 if m.encoder.spec.has_cell_state else 1 for m in members]

    # --- packing ----------------------------------------------------------------------------------
    def _flatten(self, states: list[State]) -> tuple[torch.Tensor, ...]:
        flat: list[torch.Tensor] = []
        for state in states:
            flat.extend(state if isinstance(state, tuple) else (state,))
        return tuple(flat)

    def _unflatten(self, flat: tuple[torch.Tensor, ...]) -> list[State]:
        states: list[State] = []
        start = 0
        for arity in self.state_arity:
            part = flat[start:start + arity]
            states.append(part if arity > 1 else part[0])
            start += arity
        return states

    @staticmethod
    def _average(log_probs: list[torch.Tensor]) -> torch.Tensor:
        """log (1/M sum_m p_m) from the members' log-probabilities."""
        if len(log_probs) == 1:
            return log_probs[0]
        return torch.logsumexp(torch.stack(log_probs), 0) - math.log(len(log_probs))

    # --- the decoding interface of Seq2Seq --------------------------------------------------------
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, State]:
        encoded = [m.encode(src, src_lengths) for m in self.members]
        memory = torch.cat([e[0] for e in encoded], -1)
        return memory, encoded[0][1], self._flatten([e[2] for e in encoded])

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        parts = memory.split(self.memory_widths, -1)
        return torch.cat([m.keys(part) for m, part in zip(self.members, parts, strict=True)], -1)

    def initial_feed(self, batch: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return torch.zeros(batch, sum(self.feed_widths), device=device, dtype=dtype)

    def step(self, prev: torch.Tensor, state: State, feed: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor,
             mask: torch.Tensor) -> tuple[torch.Tensor, State, torch.Tensor, torch.Tensor]:
        """prev (N,) -> (averaged log-probabilities (N, V), state, feed, mean attention weights (N, S))."""
        log_probs, states, feeds, weights = [], [], [], []
        parts = zip(self.members, self._unflatten(state), feed.split(self.feed_widths, -1),
                    memory.split(self.memory_widths, -1), keys.split(self.key_widths, -1), strict=True)
        for member, member_state, member_feed, member_memory, member_keys in parts:
            logits, new_state, new_feed, member_weights = member.step(prev, member_state, member_feed, member_memory,
                                                                      member_keys, mask)
            log_probs.append(torch.log_softmax(logits.float(), -1))
            states.append(new_state)
            feeds.append(new_feed)
            weights.append(member_weights.float())
        return self._average(log_probs), self._flatten(states), torch.cat(feeds, -1), torch.stack(weights).mean(0)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
                teacher_forcing: float = 1.0, generator: torch.Generator | None = None,
                return_attention: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced averaged log-probabilities (B, T, V) [and mean attention (B, T, S)]."""
        if teacher_forcing != 1.0:
            raise ValueError("an ensemble decodes; it is not trained (teacher_forcing must be 1)")
        outputs = [m(src, src_lengths, tgt_in, return_attention=return_attention) for m in self.members]
        log_probs = self._average([torch.log_softmax(logits.float(), -1) for logits, _ in outputs])
        attention = None
        if return_attention:
            attention = torch.stack([a.float() for _, a in outputs]).mean(0)
        return log_probs, attention

    score = Seq2Seq.score  # log P(y | x) summed over tokens, from forward's (averaged) log-probabilities
    coverage = Seq2Seq.coverage  # summed (mean) attention, from forward's
