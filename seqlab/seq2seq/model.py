"""Encoder-decoder with attention (Bahdanau et al. 2015; Luong et al. 2015).

Encoder: source embeddings -> stacked bidirectional RNN -> memory m_1..m_S (forward and backward
states concatenated, 2H). Bridge: the decoder's initial state is tanh(W_b [h_fwd; h_bwd]) of the
encoder's top layer at each sentence's true last step (Bahdanau et al. 2015, appendix A.2.2).

Decoder step t (Luong et al. 2015, section 3, with input feeding, section 3.3):

    x_t     = [E_y(y_{t-1}); a~_{t-1}]           (a~ only with input feeding)
    h_t     = RNN(x_t, h_{t-1})
    c_t, w  = Attention(h_t, m)                   (additive, general or dot; masked over padding)
    a~_t    = tanh(W_c [c_t; h_t])
    p(y_t)  = softmax(W_o dropout(a~_t))          (W_o = E_y when the embeddings are tied)

The recurrent layers are seqlab's (``seqlab.rnn``), so any of its cells (gru, lstm, mingru,
peephole, cifg, rnn) can be used. Decoding is kept apart, in :mod:`seqlab.seq2seq.search`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seqlab.config import setting
from seqlab.errors import ConfigError
from seqlab.seq2seq.attention import Attention
from seqlab.text.padding import length_mask
from seqlab.text.subword import BOS, PAD

State = torch.Tensor | tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class Architecture:
    """The model section of a seq2seq config: everything about the network but the vocabulary sizes."""

    SECTION = "model"

    cell: str = setting("gru", "Recurrent cell (gru, lstm, mingru, peephole, cifg, rnn).", flag=True)
    emb_dim: int = 256
    hidden_size: int = setting(512, "RNN hidden size.", flag=True)
    enc_layers: int = 2
    dec_layers: int = 1
    dropout: float = 0.3
    attention: str = setting("general", "Attention: general or additive (Luong et al. 2015; Bahdanau et al. 2015).",
                             flag=True)
    input_feeding: bool = True
    tie_embeddings: bool = False


@dataclass(frozen=True)
class ModelConfig(Architecture):
    """What :class:`Seq2Seq` is built from (saved with every checkpoint): the architecture and the
    vocabulary sizes the data gave it."""

    src_vocab: int = 0
    tgt_vocab: int = 0


def make_rnn(cell: str, input_size: int, hidden_size: int, num_layers: int, bidirectional: bool,
             dropout: float) -> nn.Module:
    """A batch-first recurrent layer from seqlab's RNN library."""
    from seqlab.rnn import RNN

    return RNN(cell=cell, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
               bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0, batch_first=True)


def map_state(state: State, fn) -> State:
    """Apply ``fn`` to every tensor of an RNN state (a tensor, or (h, c) for the LSTM family)."""
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def teacher_input(tgt_out: torch.Tensor) -> torch.Tensor:
    """The decoder input BOS y_1..y_{T-1} of targets y_1..y_T (B, T)."""
    return torch.cat([torch.full_like(tgt_out[:, :1], BOS), tgt_out[:, :-1]], 1)


class Seq2Seq(nn.Module):
    """Attention encoder-decoder; ``forward`` is teacher-forced training, ``encode``/``step`` decode."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.tie_embeddings and cfg.emb_dim != cfg.hidden_size:
            raise ConfigError(f"tie_embeddings needs emb_dim == hidden_size, got {cfg.emb_dim} and {cfg.hidden_size}")
        self.cfg = cfg
        h = cfg.hidden_size
        self.src_embed = nn.Embedding(cfg.src_vocab, cfg.emb_dim, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab, cfg.emb_dim, padding_idx=PAD)
        self.encoder = make_rnn(cfg.cell, cfg.emb_dim, h, cfg.enc_layers, True, cfg.dropout)
        self.bridge = nn.Linear(2 * h, cfg.dec_layers * h)
        self.bridge_cell = nn.Linear(2 * h, cfg.dec_layers * h) if self.encoder.spec.has_cell_state else None
        dec_in = cfg.emb_dim + (h if cfg.input_feeding else 0)
        self.decoder = make_rnn(cfg.cell, dec_in, h, cfg.dec_layers, False, cfg.dropout)
        self.attention = Attention(cfg.attention, h, 2 * h)
        self.combine = nn.Linear(3 * h, h, bias=False)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(h, cfg.tgt_vocab, bias=True)
        if cfg.tie_embeddings:
            self.out.weight = self.tgt_embed.weight

    # --- encoding ---------------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, State]:
        """src (B, S) ids, src_lengths (B,) -> memory (B, S, 2H), mask (B, S) bool, decoder state."""
        mask = length_mask(src_lengths, src.shape[1])
        emb = self.dropout(self.src_embed(src))
        memory, final = self.encoder(emb, lengths=src_lengths)
        memory = self.dropout(memory)
        h = self.cfg.hidden_size
        b = src.shape[0]

        def bridge(last: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
            top = torch.cat([last[-2], last[-1]], dim=1)  # top layer, forward and backward: (B, 2H)
            return torch.tanh(layer(top)).view(b, self.cfg.dec_layers, h).transpose(0, 1).contiguous()

        if isinstance(final, tuple):
            state: State = (bridge(final[0], self.bridge), bridge(final[1], self.bridge_cell))
        else:
            state = bridge(final, self.bridge)
        return memory, mask, state

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """The attention's query-independent projection of the memory, computed once per sentence."""
        return self.attention.keys(memory)

    def initial_feed(self, batch: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        return torch.zeros(batch, self.cfg.hidden_size, device=device, dtype=dtype)

    # --- one decoder step -------------------------------------------------------------------------
    def step(self, prev: torch.Tensor, state: State, feed: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor,
             mask: torch.Tensor) -> tuple[torch.Tensor, State, torch.Tensor, torch.Tensor]:
        """prev (N,) ids -> (logits (N, V), state, attentional vector a~ (N, H), weights (N, S))."""
        x = self.dropout(self.tgt_embed(prev))
        if self.cfg.input_feeding:
            x = torch.cat([x, feed], dim=1)
        output, state = self.decoder(x.unsqueeze(1), state)
        query = output.squeeze(1)
        context, weights = self.attention(query, keys, memory, mask)
        attentional = torch.tanh(self.combine(torch.cat([context, query], dim=1)))
        logits = self.out(self.dropout(attentional))
        return logits, state, attentional, weights

    # --- teacher-forced training ------------------------------------------------------------------
    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
                teacher_forcing: float = 1.0, generator: torch.Generator | None = None,
                return_attention: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """src (B, S), tgt_in (B, T) = BOS y_1..y_{T-1} -> logits (B, T, V) [, attention (B, T, S)].

        With ``teacher_forcing`` < 1, each sentence's next input is, with that probability, the
        gold token, and otherwise the model's own argmax (Williams & Zipser 1989; Bengio et al. 2015).
        """
        memory, mask, state = self.encode(src, src_lengths)
        keys = self.keys(memory)
        feed = self.initial_feed(src.shape[0], src.device, memory.dtype)
        logits_all, weights_all = [], []
        prev = tgt_in[:, 0]
        for t in range(tgt_in.shape[1]):
            logits, state, feed, weights = self.step(prev, state, feed, memory, keys, mask)
            logits_all.append(logits)
            if return_attention:
                weights_all.append(weights)
            if t + 1 < tgt_in.shape[1]:
                prev = tgt_in[:, t + 1]
                if teacher_forcing < 1.0:
                    coin = torch.rand(prev.shape, device=prev.device, generator=generator) >= teacher_forcing
                    prev = torch.where(coin & (prev != PAD), logits.argmax(1), prev)
        attention = torch.stack(weights_all, 1) if return_attention else None
        return torch.stack(logits_all, 1), attention

    @torch.no_grad()
    def score(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
        """log P(y | x) of each target (B, T) ending in EOS and padded with PAD: (B,) summed log-probs."""
        logits, _ = self.forward(src, src_lengths, teacher_input(tgt_out))
        logp = torch.log_softmax(logits.float(), -1).gather(2, tgt_out.unsqueeze(2)).squeeze(2)
        return (logp * (tgt_out != PAD)).sum(1)

    @torch.no_grad()
    def coverage(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
        """The attention each source position gets, summed over the real steps of the teacher-forced
        target (B, T) ending in EOS: (B, S) float (the coverage of beam search's coverage penalty)."""
        _, weights = self.forward(src, src_lengths, teacher_input(tgt_out), return_attention=True)
        return (weights.float() * (tgt_out != PAD).unsqueeze(2)).sum(1)
