"""The recurrent layer: any cell of seqlab/rnn/cells.py, stacked, bidirectional, over ragged batches.

Layer l in direction d runs its cell over the layer's input sequence; the backward direction reads
each sequence from its own last real step to its first. The two directions' outputs are
concatenated and feed layer l + 1. Dropout goes on the inputs of the stack, between layers and on
the outputs, never on the recurrent connections (Zaremba, Sutskever & Vinyals 2014, sec. 3);
``variational=True`` draws one dropout mask per sequence and reuses it at every step (Gal &
Ghahramani 2016, sec. 4).

Padded steps (``t >= lengths[b]``) never change the state and output zeros, so the final states are
those at each sequence's last real step, as with torch.nn's PackedSequence.

Backends: ``torch`` calls torch's fused RNNs (cuDNN on a GPU) with this layer's parameters, for the
lstm/gru/rnn cells, whose parameter names and shapes are torch.nn.LSTM/GRU/RNN's; ``triton`` runs
the fused kernels of seqlab/rnn/kernels for the peephole, cifg and mingru cells; ``reference`` is a
plain PyTorch loop over steps of the cell equations. ``auto`` picks torch where it can, triton on
CUDA when it is installed, else reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqlab.errors import ConfigError
from seqlab.rnn import kernels
from seqlab.rnn.cells import CellSpec, cell_spec, init_weights_

BACKENDS = ("auto", "torch", "triton", "reference")
_TORCH_FUNCTIONS = {"LSTM": _VF.lstm, "GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}


def keep_padded(real: Tensor, new: Tensor, old: Tensor | float) -> Tensor:
    """``new`` where the step is real, ``old`` at padding. real: (batch, 1) bool."""
    return torch.where(real, new, old)


def reverse_index(steps: int, lengths: Tensor | None, device: torch.device) -> Tensor | None:
    """(time, batch) gather index that reverses each sequence within its own length (padding stays put);
    None when every sequence is full length (then a flip does it)."""
    if lengths is None:
        return None
    t = torch.arange(steps, device=device)[:, None]
    lengths = lengths.to(device)[None, :]
    return torch.where(t < lengths, lengths - 1 - t, t)


def reverse_padded(x: Tensor, index: Tensor | None) -> Tensor:
    """Reverse (time, batch, features) ``x`` along time, each sequence within its own length."""
    if index is None:
        return x.flip(0)
    return x.gather(0, index[..., None].expand_as(x))


def lengths_from(lengths: Tensor | Sequence[int] | None, mask: Tensor | None, steps: int,
                 batch: int) -> Tensor | None:
    """The batch's lengths as a CPU int64 tensor (batch,), from ``lengths`` or a (batch, time) ``mask``
    (True at real steps, a prefix of each row); None when every sequence has all ``steps`` steps."""
    if lengths is not None and mask is not None:
        raise ValueError("give lengths or mask, not both")
    if mask is not None:
        if mask.shape != (batch, steps):
            raise ValueError(f"mask must be (batch, time) = ({batch}, {steps}), got {tuple(mask.shape)}")
        mask = mask.bool()
        lengths = mask.sum(1)
        prefix = torch.arange(steps, device=mask.device)[None, :] < lengths[:, None]
        if not torch.equal(prefix, mask):
            raise ValueError("mask must be True on the first steps of each sequence and False after them")
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have one entry per sequence ({batch}), got shape {tuple(lengths.shape)}")
    if lengths.numel() and (lengths.min() < 0 or lengths.max() > steps):
        raise ValueError(f"lengths must lie in 0..{steps} (the padded length), got {lengths.tolist()}")
    return None if bool((lengths == steps).all()) else lengths


class RNN(nn.Module):
    """A stack of recurrent layers of one cell type, with torch.nn.LSTM/GRU/RNN's interface.

    cell: lstm, gru, mingru, peephole, cifg or rnn (Elman; ``nonlinearity`` tanh or relu).
    dropout: between layers (like torch.nn); input_dropout / output_dropout: on the stack's input and
    output; variational: one mask per sequence for all three. forget_bias: initial forget-gate bias
    of the LSTM family. backend: auto, torch, triton or reference (see the module docstring).

    ``forward(input, hx=None, lengths=None, mask=None)``: input (time, batch, input_size), or
    (batch, time, input_size) with batch_first, or a PackedSequence; lengths (batch,) or mask (batch,
    time) mark real steps. Returns output (time, batch, D * hidden_size) (zeros at padded steps; a
    PackedSequence for a PackedSequence) and h_n, or (h_n, c_n) for the LSTM family, each
    (num_layers * D, batch, hidden_size), D = 2 if bidirectional else 1; hx has the same form.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, batch_first: bool = False, *,
                 bias: bool = True, nonlinearity: str = "tanh", input_dropout: float = 0.0,
                 output_dropout: float = 0.0, variational: bool = False, forget_bias: float = 1.0,
                 backend: str = "auto", device=None, dtype=None) -> None:
        super().__init__()
        for name, p in (("dropout", dropout), ("input_dropout", input_dropout), ("output_dropout", output_dropout)):
            if not 0.0 <= p < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {p}")
        if num_layers < 1 or hidden_size < 1 or input_size < 1:
            raise ConfigError(f"input_size, hidden_size and num_layers must be positive, got "
                              f"{input_size}, {hidden_size}, {num_layers}")
        self.spec: CellSpec = cell_spec(cell, nonlinearity)
        self.cell, self.nonlinearity = cell, nonlinearity
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional, self.batch_first, self.bias = bidirectional, batch_first, bias
        self.dropout, self.input_dropout, self.output_dropout = dropout, input_dropout, output_dropout
        self.variational, self.forget_bias = variational, forget_bias
        self.backend = backend
        self._check_backend(backend)
        kw = {"device": device, "dtype": dtype}
        gates = self.spec.num_gates * hidden_size
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = f"_l{layer}{'_reverse' if direction else ''}"
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if self.spec.peephole:
                    shapes["weight_ch"] = (3 * hidden_size,)
                for name, shape in shapes.items():
                    self.register_parameter(name + suffix, nn.Parameter(torch.empty(shape, **kw)))
                    if name != "weight_ch":
                        self._flat_weights_names.append(name + suffix)
        self.reset_parameters()
        self.flatten_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _check_backend(self, backend: str) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"unknown RNN backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        if backend == "torch" and self.spec.torch_mode is None:
            raise ConfigError(f"backend torch runs the lstm, gru and rnn cells, not {self.cell}")
        if backend == "triton":
            if self.cell not in kernels.KERNEL_CELLS:
                raise ConfigError(f"backend triton runs the {', '.join(kernels.KERNEL_CELLS)} cells, not {self.cell}")
            if not kernels.available():
                raise ConfigError("backend triton needs triton: pip install triton")

    def _weights(self, layer: int, direction: int) -> tuple[Tensor | None, ...]:
        """(weight_ih, weight_hh, bias_ih, bias_hh, weight_ch) of one layer and direction."""
        suffix = f"_l{layer}{'_reverse' if direction else ''}"
        return tuple(getattr(self, name + suffix, None)
                     for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ch"))

    def reset_parameters(self) -> None:
        """Glorot input weights, orthogonal recurrent weights, forget-gate bias (cells.init_weights_)."""
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                init_weights_(self.spec, *self._weights(layer, direction), forget_bias=self.forget_bias)

    def resolved_backend(self, device: torch.device) -> str:
        """The backend ``auto`` (or the forced one) uses for inputs on ``device``."""
        self._check_backend(self.backend)
        if self.backend != "auto":
            return self.backend
        if self.spec.torch_mode is not None:
            return "torch"
        if device.type == "cuda" and self.cell in kernels.KERNEL_CELLS and kernels.available():
            return "triton"
        return "reference"

    # --- forward ------------------------------------------------------------------------------------

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, Tensor] | None = None,
                lengths: Tensor | Sequence[int] | None = None, mask: Tensor | None = None):
        packed = isinstance(input, PackedSequence)
        unbatched = False
        if packed:
            if lengths is not None or mask is not None:
                raise ValueError("a PackedSequence carries its own lengths: give no lengths or mask")
            x, lens = pad_packed_sequence(input)
            lens = None if bool((lens == x.shape[0]).all()) else lens
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"input must be (time, batch, features) or unbatched (time, features), "
                                 f"got {input.dim()} dimensions")
            unbatched = input.dim() == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
            lens = lengths_from(lengths, mask, x.shape[0], x.shape[1])
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input has {x.shape[-1]} features, the layer expects input_size {self.input_size}")
        h0, c0 = self._initial_state(hx, x, unbatched)

        backend = self.resolved_backend(x.device)
        if backend == "torch" and lens is not None and bool((lens == 0).any()):
            backend = "reference"  # torch's packed RNNs refuse empty sequences
        x = self._drop(x, self.input_dropout)
        if backend == "torch":
            out, h_n, c_n = self._forward_torch(x, h0, c0, lens)
        else:
            out, h_n, c_n = self._forward_loop(x, h0, c0, lens, backend)
        out = self._drop(out, self.output_dropout)

        if packed:
            if input.sorted_indices is not None:
                out = out.index_select(1, input.sorted_indices)
                lens_sorted = (lens if lens is not None else torch.full((out.shape[1],), out.shape[0]))
                lens_sorted = lens_sorted.index_select(0, input.sorted_indices.cpu())
            else:
                lens_sorted = lens if lens is not None else torch.full((out.shape[1],), out.shape[0])
            data = pack_padded_sequence(out, lens_sorted, enforce_sorted=True).data
            out = PackedSequence(data, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, ((h_n, c_n) if self.spec.has_cell_state else h_n)

    def _initial_state(self, hx, x: Tensor, unbatched: bool) -> tuple[Tensor, Tensor | None]:
        shape = (self.num_layers * self.num_directions, x.shape[1], self.hidden_size)
        if hx is None:
            zeros = x.new_zeros(shape)
            return zeros, (zeros if self.spec.has_cell_state else None)
        if self.spec.has_cell_state:
            if not isinstance(hx, tuple | list) or len(hx) != 2:
                raise ValueError(f"cell {self.cell} takes hx = (h_0, c_0)")
            h0, c0 = hx
        else:
            if not isinstance(hx, Tensor):
                raise ValueError(f"cell {self.cell} takes hx = h_0, a tensor")
            h0, c0 = hx, None
        if unbatched:
            h0, c0 = h0.unsqueeze(1), (c0.unsqueeze(1) if c0 is not None else None)
        for name, state in (("h_0", h0), ("c_0", c0)):
            if state is not None and tuple(state.shape) != shape:
                raise ValueError(f"{name} must be (num_layers * num_directions, batch, hidden_size) = {shape}, "
                                 f"got {tuple(state.shape)}")
        return h0, c0

    def _drop(self, x: Tensor, p: float) -> Tensor:
        """Dropout on (time, batch, features); with ``variational`` one mask per sequence for all steps."""
        if p == 0.0 or not self.training:
            return x
        if not self.variational:
            return F.dropout(x, p, True)
        keep = x.new_empty(1, x.shape[1], x.shape[2]).bernoulli_(1.0 - p)
        return x * keep / (1.0 - p)

    def _forward_torch(self, x: Tensor, h0: Tensor, c0: Tensor | None, lens: Tensor | None):
        """torch's fused RNN (cuDNN on a GPU) over all layers at once; layer by layer when the dropout
        between layers is variational, which torch's cannot do."""
        per_layer = self.variational and self.dropout > 0 and self.training and self.num_layers > 1
        groups = [[k] for k in range(self.num_layers)] if per_layer else [list(range(self.num_layers))]
        function = _TORCH_FUNCTIONS[self.spec.torch_mode]
        h_parts, c_parts = [], []
        for g, layers in enumerate(groups):
            if g:
                x = self._drop(x, self.dropout)
            rows = slice(layers[0] * self.num_directions, (layers[-1] + 1) * self.num_directions)
            weights = [w for k in layers for d in range(self.num_directions) for w in self._weights(k, d)[:4]
                       if w is not None]
            hx = (h0[rows], c0[rows]) if c0 is not None else h0[rows]
            dropout = 0.0 if per_layer else self.dropout
            if lens is None:
                result = function(x, hx, weights, self.bias, len(layers), dropout, self.training,
                                  self.bidirectional, False)
                x = result[0]
            else:
                data, batch_sizes, order, unorder = pack_padded_sequence(x, lens, enforce_sorted=False)
                hx = tuple(s.index_select(1, order) for s in hx) if c0 is not None else hx.index_select(1, order)
                result = function(data, batch_sizes, hx, weights, self.bias, len(layers), dropout, self.training,
                                  self.bidirectional)
                x, _ = pad_packed_sequence(PackedSequence(result[0], batch_sizes, order, unorder),
                                           total_length=x.shape[0])
                result = (x, *(s.index_select(1, unorder) for s in result[1:]))
            h_parts.append(result[1])
            if c0 is not None:
                c_parts.append(result[2])
        return x, torch.cat(h_parts), (torch.cat(c_parts) if c0 is not None else None)

    def _forward_loop(self, x: Tensor, h0: Tensor, c0: Tensor | None, lens: Tensor | None, backend: str):
        """Layer by layer, direction by direction, with the reference cells or the Triton kernels."""
        steps, batch = x.shape[:2]
        index = reverse_index(steps, lens, x.device)
        lengths = (lens if lens is not None else torch.full((batch,), steps)).to(x.device, torch.int32)
        real = None if lens is None else torch.arange(steps, device=x.device)[:, None] < lengths[None, :]
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            if layer:
                x = self._drop(x, self.dropout)
            outputs = []
            for direction in range(self.num_directions):
                row = layer * self.num_directions + direction
                state = (h0[row], c0[row] if c0 is not None else None)
                weights = self._weights(layer, direction)
                x_dir = reverse_padded(x, index) if direction else x
                if backend == "triton":
                    out, h, c = self._run_triton(x_dir, state, weights, lengths)
                else:
                    out, h, c = self._run_reference(x_dir, state, weights, real)
                outputs.append(reverse_padded(out, index) if direction else out)
                h_n.append(h)
                c_n.append(c)
            x = torch.cat(outputs, -1) if len(outputs) > 1 else outputs[0]
        return x, torch.stack(h_n), (torch.stack(c_n) if c0 is not None else None)

    def _run_reference(self, x: Tensor, state, weights, real: Tensor | None):
        """One direction of one layer: the input projection for all steps in one matmul, then the cell's
        step equations in a loop. real: (time, batch) bool, None when no step is padded."""
        weight_ih, weight_hh, bias_ih, bias_hh, weight_ch = weights
        gates_x = F.linear(x, weight_ih, bias_ih)
        h, c = state
        outputs = []
        for t in range(x.shape[0]):
            h_new, c_new = self.spec.step(gates_x[t], F.linear(h, weight_hh, bias_hh), h, c, weight_ch)
            if real is None:
                h, c = h_new, c_new
                outputs.append(h)
            else:
                is_real = real[t][:, None]
                outputs.append(keep_padded(is_real, h_new, 0.0))
                h = keep_padded(is_real, h_new, h)
                c = keep_padded(is_real, c_new, c) if c is not None else None
        return torch.stack(outputs), h, c

    def _run_triton(self, x: Tensor, state, weights, lengths: Tensor):
        weight_ih, weight_hh, bias_ih, bias_hh, weight_ch = weights
        bias = bias_ih + bias_hh if bias_ih is not None else None  # no reset gate: both biases just add
        gates_x = F.linear(x, weight_ih, bias)
        return kernels.fused_recurrence(self.cell, gates_x, weight_hh, weight_ch, state[0], state[1], lengths)

    # --- cuDNN's flat weight buffer, as torch.nn.RNNBase keeps it ----------------------------------------

    def flatten_parameters(self) -> None:
        """Put the lstm/gru/rnn weights in one contiguous buffer that cuDNN uses without copying (a no-op
        off the GPU and for the other cells); torch.nn.RNNBase.flatten_parameters does the same."""
        if self.spec.torch_mode is None:
            return
        weights = [getattr(self, name) for name in self._flat_weights_names]
        dtype = weights[0].dtype
        if any(w.dtype != dtype or not w.is_cuda or not torch.backends.cudnn.is_acceptable(w) for w in weights):
            return
        if len({w.data_ptr() for w in weights}) != len(weights):
            return
        import torch.backends.cudnn.rnn as cudnn_rnn

        with torch.cuda.device_of(weights[0]), torch.no_grad():
            if torch._use_cudnn_rnn_flatten_weight():
                torch._cudnn_rnn_flatten_weight(weights, 4 if self.bias else 2, self.input_size,
                                                cudnn_rnn.get_cudnn_mode(self.spec.torch_mode), self.hidden_size, 0,
                                                self.num_layers, self.batch_first, self.bidirectional)

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        self.flatten_parameters()
        return result

    def extra_repr(self) -> str:
        s = f"{self.cell!r}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        for name in ("bidirectional", "batch_first", "variational"):
            if getattr(self, name):
                s += f", {name}=True"
        for name in ("dropout", "input_dropout", "output_dropout"):
            if getattr(self, name):
                s += f", {name}={getattr(self, name)}"
        if not self.bias:
            s += ", bias=False"
        return s if self.backend == "auto" else s + f", backend={self.backend!r}"
