"""Attention over encoder states, masked over padding.

For a decoder state h_t (the query) and encoder states m_1..m_S (the memory):

- additive (Bahdanau et al. 2015, eq. 6): e_s = v^T tanh(W_q h_t + W_k m_s);
- general / multiplicative (Luong et al. 2015, eq. 8): e_s = h_t^T W m_s;
- dot (Luong et al. 2015): e_s = h_t^T m_s (memory and query of the same size).

a = softmax(e) over the real (unpadded) positions only, and the context is c_t = sum_s a_s m_s.
The memory-side projections (W_k m, W m) do not depend on t, so :meth:`Attention.keys` computes
them once per sentence and every decoder step reuses them.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.errors import ConfigError

ATTENTION_KINDS = ("additive", "general", "dot")


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax of ``scores`` (..., S) over the positions where ``mask`` (..., S) is True; 0 elsewhere."""
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(scores, dim=-1) * mask


class Attention(nn.Module):
    """Score a query against precomputed keys; return (context (N, M), weights (N, S))."""

    def __init__(self, kind: str, query_size: int, memory_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        if kind not in ATTENTION_KINDS:
            raise ConfigError(f"unknown attention {kind!r}; choose one of {', '.join(ATTENTION_KINDS)}")
        if kind == "dot" and query_size != memory_size:
            raise ConfigError(f"dot attention needs equal query and memory sizes, got {query_size} and {memory_size}")
        self.kind = kind
        if kind == "additive":
            size = attention_size or query_size
            self.key_proj = nn.Linear(memory_size, size, bias=False)
            self.query_proj = nn.Linear(query_size, size, bias=True)
            self.v = nn.Linear(size, 1, bias=False)
        elif kind == "general":
            self.key_proj = nn.Linear(memory_size, query_size, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """The query-independent part: (N, S, M) memory -> (N, S, K) keys."""
        return memory if self.kind == "dot" else self.key_proj(memory)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """query (N, Q), keys (N, S, K), memory (N, S, M), mask (N, S) bool -> (context (N, M), weights (N, S))."""
        if self.kind == "additive":
            scores = self.v(torch.tanh(keys + self.query_proj(query).unsqueeze(1))).squeeze(2)
        else:
            scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)
        weights = masked_softmax(scores.float(), mask).to(memory.dtype)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights
