"""Recurrent cells: one time step of each, written as plain PyTorch (the reference and the CPU path).

Every cell splits its step into two matrix products and a pointwise part::

    gates_x = W_ih x_t + b_ih          (for all t at once, one matmul, in the layer)
    gates_h = W_hh h_{t-1} + b_hh      (per step: the recurrence)
    h_t, c_t = step(gates_x, gates_h, h_{t-1}, c_{t-1}, weight_ch)

Gate blocks are stacked along the first dimension of ``weight_ih``/``weight_hh`` in torch.nn's
order where torch has the cell (LSTM: i, f, g, o; GRU: r, z, n), so parameters copy one-to-one
from torch.nn.LSTM/GRU/RNN. ``sigma`` is the logistic sigmoid and ``*`` the elementwise product.

- Elman (1990), "Finding structure in time": h = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).
- GRU, Cho et al. (2014, sec. 2.3), torch.nn.GRU's form (reset gate applied after W_hn).
- Minimal GRU: the GRU with the reset gate removed (Dey & Salem 2017, "Gate-variants of GRU",
  and the simplified GRU of Ng's Sequence Models course).
- LSTM, Hochreiter & Schmidhuber (1997) with the forget gate of Gers, Schmidhuber & Cummins (2000).
- Peephole LSTM, Gers & Schmidhuber (2000), "Recurrent nets that time and count", sec. 2.
- CIFG, the coupled input-forget gate LSTM of Greff et al. (2017), "LSTM: A Search Space
  Odyssey", sec. 3 (without peepholes here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.errors import ConfigError

State = Tensor | tuple[Tensor, Tensor]


# --- the pointwise part of each step: (gates_x, gates_h, h, c, weight_ch) -> (h, c) ----------------
# gates_x, gates_h: (batch, num_gates * hidden); h, c: (batch, hidden); c is None for cells without
# a memory cell; weight_ch: (3 * hidden,) diagonal peepholes (i, f, o), peephole LSTM only.

def rnn_tanh_step(gates_x: Tensor, gates_h: Tensor, h: Tensor, c: Tensor | None = None,
                  weight_ch: Tensor | None = None) -> tuple[Tensor, None]:
    return torch.tanh(gates_x + gates_h), None


def rnn_relu_step(gates_x: Tensor, gates_h: Tensor, h: Tensor, c: Tensor | None = None,
                  weight_ch: Tensor | None = None) -> tuple[Tensor, None]:
    return torch.relu(gates_x + gates_h), None


def gru_step(gates_x: Tensor, gates_h: Tensor, h: Tensor, c: Tensor | None = None,
             weight_ch: Tensor | None = None) -> tuple[Tensor, None]:
    x_r, x_z, x_n = gates_x.chunk(3, 1)
    h_r, h_z, h_n = gates_h.chunk(3, 1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h, None


def mingru_step(gates_x: Tensor, gates_h: Tensor, h: Tensor, c: Tensor | None = None,
                weight_ch: Tensor | None = None) -> tuple[Tensor, None]:
    a_z, a_n = (gates_x + gates_h).chunk(2, 1)
    z = torch.sigmoid(a_z)
    return z * torch.tanh(a_n) + (1 - z) * h, None


def lstm_step(gates_x: Tensor, gates_h: Tensor, h: Tensor, c: Tensor,
              weight_ch: Tensor | None = None) -> tuple[Tensor, Tensor]:
    a_i, a_f, a_g, a_o = (gates_x + gates_h).chunk(4, 1)
    c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
    return torch.sigmoid(a_o) * torch.tanh(c), c


def peephole_step(gates_x: Tensor, gates_h: Tensor, h: Tensor, c: Tensor,
                  weight_ch: Tensor) -> tuple[Tensor, Tensor]:
    a_i, a_f, a_g, a_o = (gates_x + gates_h).chunk(4, 1)
    p_i, p_f, p_o = weight_ch.chunk(3)
    i = torch.sigmoid(a_i + p_i * c)
    f = torch.sigmoid(a_f + p_f * c)
    c = f * c + i * torch.tanh(a_g)
    o = torch.sigmoid(a_o + p_o * c)
    return o * torch.tanh(c), c


def cifg_step(gates_x: Tensor, gates_h: Tensor, h: Tensor, c: Tensor,
              weight_ch: Tensor | None = None) -> tuple[Tensor, Tensor]:
    a_f, a_g, a_o = (gates_x + gates_h).chunk(3, 1)
    f = torch.sigmoid(a_f)
    c = f * c + (1 - f) * torch.tanh(a_g)
    return torch.sigmoid(a_o) * torch.tanh(c), c


@dataclass(frozen=True)
class CellSpec:
    """What the layer needs to know about a cell: gate count, state, peepholes, its step function."""

    name: str
    num_gates: int
    has_cell_state: bool
    step: Callable
    forget_gate: int | None = None  # index of the forget gate block, for the forget-gate bias
    peephole: bool = False  # has weight_ch (3 * hidden,)
    torch_mode: str | None = None  # torch.nn's mode when the cell is torch's: dispatch to _VF / cuDNN


SPECS = {
    "rnn_tanh": CellSpec("rnn_tanh", 1, False, rnn_tanh_step, torch_mode="RNN_TANH"),
    "rnn_relu": CellSpec("rnn_relu", 1, False, rnn_relu_step, torch_mode="RNN_RELU"),
    "gru": CellSpec("gru", 3, False, gru_step, torch_mode="GRU"),
    "mingru": CellSpec("mingru", 2, False, mingru_step),
    "lstm": CellSpec("lstm", 4, True, lstm_step, forget_gate=1, torch_mode="LSTM"),
    "peephole": CellSpec("peephole", 4, True, peephole_step, forget_gate=1, peephole=True),
    "cifg": CellSpec("cifg", 3, True, cifg_step, forget_gate=0),
}
CELL_NAMES = ("lstm", "gru", "mingru", "peephole", "cifg", "rnn")


def cell_spec(cell: str, nonlinearity: str = "tanh") -> CellSpec:
    """The CellSpec for a cell name (``rnn`` takes ``nonlinearity`` tanh or relu)."""
    if cell not in CELL_NAMES:
        raise ConfigError(f"unknown RNN cell {cell!r}: choose one of {', '.join(CELL_NAMES)}")
    if cell == "rnn":
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"unknown RNN nonlinearity {nonlinearity!r}: choose tanh or relu")
        return SPECS[f"rnn_{nonlinearity}"]
    return SPECS[cell]


def rnn_weight_count(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                     bidirectional: bool = False) -> int:
    """The weight matrices of a stacked RNN of seqlab's ``cell`` (biases and peepholes left out, so a
    lower bound): per layer and direction, ``gates * hidden * (layer input + hidden)``."""
    gates, directions = cell_spec(cell).num_gates, 2 if bidirectional else 1
    first = gates * hidden_size * (input_size + hidden_size)
    later = gates * hidden_size * (directions * hidden_size + hidden_size)
    return directions * (first + (num_layers - 1) * later)


def init_weights_(spec: CellSpec, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                  bias_hh: Tensor | None, weight_ch: Tensor | None, forget_bias: float = 1.0) -> None:
    """Initialise one cell's parameters in place: Glorot-uniform input weights and orthogonal
    recurrent weights, gate block by gate block (Saxe et al. 2014); zero biases except the forget
    gate's, ``forget_bias`` (Jozefowicz et al. 2015); zero peepholes (the cell starts as an LSTM)."""
    hidden = weight_hh.shape[1]
    with torch.no_grad():
        for block in range(spec.num_gates):
            rows = slice(block * hidden, (block + 1) * hidden)
            nn.init.xavier_uniform_(weight_ih[rows])
            nn.init.orthogonal_(weight_hh[rows])
        for bias in (bias_ih, bias_hh):
            if bias is not None:
                bias.zero_()
        if bias_ih is not None and spec.forget_gate is not None:
            bias_ih[spec.forget_gate * hidden:(spec.forget_gate + 1) * hidden] = forget_bias
        if weight_ch is not None:
            weight_ch.zero_()


class RecurrentCell(nn.Module):
    """One step of a recurrent cell, with torch.nn.LSTMCell/GRUCell's parameter names.

    ``forward(input (batch, input_size), state)`` returns the next state: ``h`` (batch, hidden_size)
    or, for the LSTM family, ``(h, c)``. A missing state is zeros.
    """

    spec: CellSpec

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, forget_bias: float = 1.0,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.forget_bias = input_size, hidden_size, forget_bias
        kw = {"device": device, "dtype": dtype}
        gates = self.spec.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(gates, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(gates, **kw)) if bias else None
        self.weight_ch = nn.Parameter(torch.empty(3 * hidden_size, **kw)) if self.spec.peephole else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_weights_(self.spec, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.weight_ch,
                      self.forget_bias)

    def forward(self, input: Tensor, state: State | None = None) -> State:
        if state is None:
            zeros = input.new_zeros(input.shape[0], self.hidden_size)
            state = (zeros, zeros) if self.spec.has_cell_state else zeros
        h, c = state if self.spec.has_cell_state else (state, None)
        gates_x = F.linear(input, self.weight_ih, self.bias_ih)
        gates_h = F.linear(h, self.weight_hh, self.bias_hh)
        h, c = self.spec.step(gates_x, gates_h, h, c, self.weight_ch)
        return (h, c) if self.spec.has_cell_state else h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class ElmanCell(RecurrentCell):
    """Elman (1990) RNN cell, torch.nn.RNNCell's layout::

        h' = tanh(W_ih x + b_ih + W_hh h + b_hh)        (or relu with nonlinearity="relu")
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        self.spec = cell_spec("rnn", nonlinearity)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)


class GRUCell(RecurrentCell):
    """GRU cell (Cho et al. 2014), torch.nn.GRUCell's layout, gates r, z, n::

        r = sigma(W_ir x + b_ir + W_hr h + b_hr)
        z = sigma(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h
    """

    spec = SPECS["gru"]


class MinimalGRUCell(RecurrentCell):
    """Minimal GRU cell: the update gate only (no reset gate; Dey & Salem 2017), gates z, n::

        z = sigma(W_iz x + b_iz + W_hz h + b_hz)          (the update gate G)
        n = tanh(W_in x + b_in + W_hn h + b_hn)           (the candidate c~)
        h' = z * n + (1 - z) * h
    """

    spec = SPECS["mingru"]


class LSTMCell(RecurrentCell):
    """LSTM cell (Hochreiter & Schmidhuber 1997; forget gate, Gers et al. 2000), torch.nn.LSTMCell's
    layout, gates i, f, g, o::

        i = sigma(W_ii x + b_ii + W_hi h + b_hi)     f = sigma(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)      o = sigma(W_io x + b_io + W_ho h + b_ho)
        c' = f * c + i * g                           h' = o * tanh(c')
    """

    spec = SPECS["lstm"]


class PeepholeLSTMCell(RecurrentCell):
    """Peephole LSTM cell (Gers & Schmidhuber 2000, sec. 2): the gates also look at the memory cell
    through diagonal weights ``weight_ch`` = (p_i, p_f, p_o); input and forget gates see c, the
    output gate sees c'. Gates i, f, g, o as in torch.nn.LSTM::

        i = sigma(W_ii x + b_ii + W_hi h + b_hi + p_i * c)
        f = sigma(W_if x + b_if + W_hf h + b_hf + p_f * c)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)
        c' = f * c + i * g
        o = sigma(W_io x + b_io + W_ho h + b_ho + p_o * c')
        h' = o * tanh(c')
    """

    spec = SPECS["peephole"]


class CIFGCell(RecurrentCell):
    """Coupled input-forget gate LSTM cell (CIFG; Greff et al. 2017, sec. 3): the input gate is
    1 - f, so there are three gate blocks, f, g, o::

        f = sigma(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)      o = sigma(W_io x + b_io + W_ho h + b_ho)
        c' = f * c + (1 - f) * g                     h' = o * tanh(c')
    """

    spec = SPECS["cifg"]


CELL_CLASSES = {"rnn": ElmanCell, "gru": GRUCell, "mingru": MinimalGRUCell, "lstm": LSTMCell,
                "peephole": PeepholeLSTMCell, "cifg": CIFGCell}

