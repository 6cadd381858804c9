"""The RNN layer against torch.nn.LSTM/GRU/RNN (outputs and gradients, copied weights), state dicts
both ways, ragged batches, padding invariance and the dropout/initialisation rules.

Comparisons with torch.nn run in float64, so that the tolerances are tight."""

import sys

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.errors import ConfigError
from seqlab.rnn import CELL_NAMES, RNN
from seqlab.rnn.layer import reverse_index, reverse_padded

IN, H = 3, 4
LENGTHS = [5, 2, 7, 1]  # ragged, unsorted, the longest = T
T, B = max(LENGTHS), len(LENGTHS)
TORCH_CELLS = {"lstm": (torch.nn.LSTM, {}), "gru": (torch.nn.GRU, {}),
               "rnn_tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}),
               "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"})}


def _ours(name, layers, bidirectional, batch_first, backend, **kw):
    cell, nonlinearity = (name.split("_") + ["tanh"])[:2]
    return RNN(cell, IN, H, layers, bidirectional, batch_first=batch_first, nonlinearity=nonlinearity,
               backend=backend, **kw)


def _randomise(module, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return module


def _inputs(layers, bidirectional, batch_first, cell_state, seed=1, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    shape = (B, T, IN) if batch_first else (T, B, IN)
    x = torch.randn(shape, generator=gen, dtype=dtype, requires_grad=True)
    d = 2 if bidirectional else 1
    h0 = torch.randn(layers * d, B, H, generator=gen, dtype=dtype, requires_grad=True)
    c0 = torch.randn(layers * d, B, H, generator=gen, dtype=dtype, requires_grad=True)
    return x, ((h0, c0) if cell_state else h0)


def _states(s):
    return list(s) if isinstance(s, tuple) else [s]


def _loss(out, states, seed=2):
    gen = torch.Generator().manual_seed(seed)
    total = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum()
    for s in states:
        total = total + (s * torch.randn(s.shape, generator=gen, dtype=s.dtype)).sum()
    return total


@pytest.mark.parametrize("backend", ["torch", "reference"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(TORCH_CELLS))
def test_equals_torch_ragged(name, layers, bidirectional, batch_first, backend):
    """Ragged lengths against torch.nn's PackedSequence: outputs, final states and every gradient."""
    torch_class, kw = TORCH_CELLS[name]
    ref = _randomise(torch_class(IN, H, layers, bidirectional=bidirectional, batch_first=batch_first, **kw)).double()
    ours = _ours(name, layers, bidirectional, batch_first, backend).double()
    ours.load_state_dict(ref.state_dict())
    x, hx = _inputs(layers, bidirectional, batch_first, name == "lstm", dtype=torch.float64)

    out, states = ours(x, hx, lengths=torch.tensor(LENGTHS))
    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=batch_first, enforce_sorted=False)
    ref_packed, ref_states = ref(packed, hx)
    ref_out, _ = pad_packed_sequence(ref_packed, batch_first=batch_first, total_length=T)
    torch.testing.assert_close(out, ref_out)
    for s, r in zip(_states(states), _states(ref_states), strict=True):
        torch.testing.assert_close(s, r)

    leaves = [x, *_states(hx)]
    ours_grads = torch.autograd.grad(_loss(out, _states(states)), leaves + list(ours.parameters()))
    ref_grads = torch.autograd.grad(_loss(ref_out, _states(ref_states)), leaves + list(ref.parameters()))
    for g, r in zip(ours_grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r)


@pytest.mark.parametrize("backend", ["torch", "reference"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("name", sorted(TORCH_CELLS))
def test_equals_torch_full_length_and_default_state(name, bidirectional, backend):
    torch_class, kw = TORCH_CELLS[name]
    ref = _randomise(torch_class(IN, H, 2, bidirectional=bidirectional, **kw)).double()
    ours = _ours(name, 2, bidirectional, False, backend).double()
    ours.load_state_dict(ref.state_dict())
    x, _ = _inputs(2, bidirectional, False, False, dtype=torch.float64)
    out, states = ours(x)
    ref_out, ref_states = ref(x)
    torch.testing.assert_close(out, ref_out)
    for s, r in zip(_states(states), _states(ref_states), strict=True):
        torch.testing.assert_close(s, r)
    ours_grads = torch.autograd.grad(_loss(out, _states(states)), [x, *ours.parameters()])
    ref_grads = torch.autograd.grad(_loss(ref_out, _states(ref_states)), [x, *ref.parameters()])
    for g, r in zip(ours_grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r)


@pytest.mark.parametrize("name", sorted(TORCH_CELLS))
def test_state_dict_loads_into_torch(name):
    torch_class, kw = TORCH_CELLS[name]
    ours = _ours(name, 2, True, False, "auto")
    ref = torch_class(IN, H, 2, bidirectional=True, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert [p.shape for p in ours.state_dict().values()] == [p.shape for p in ref.state_dict().values()]
    ref.load_state_dict(ours.state_dict())  # strict: same names, same shapes
    x, _ = _inputs(2, True, False, False)
    torch.testing.assert_close(ours(x)[0], ref(x)[0])


@pytest.mark.parametrize("backend", ["torch", "reference"])
@pytest.mark.parametrize("sorted_batch", [False, True])
def test_packed_sequence_in_and_out(backend, sorted_batch):
    ref = _randomise(torch.nn.LSTM(IN, H, 2, bidirectional=True))
    ours = RNN("lstm", IN, H, 2, True, backend=backend)
    ours.load_state_dict(ref.state_dict())
    lengths = sorted(LENGTHS, reverse=True) if sorted_batch else LENGTHS
    x, hx = _inputs(2, True, False, True)
    packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=sorted_batch)
    out, (h, c) = ours(packed, hx)
    ref_out, (ref_h, ref_c) = ref(packed, hx)
    assert torch.equal(out.batch_sizes, ref_out.batch_sizes)
    if not sorted_batch:
        assert torch.equal(out.sorted_indices, ref_out.sorted_indices)
    torch.testing.assert_close(out.data, ref_out.data)
    torch.testing.assert_close(h, ref_h)
    torch.testing.assert_close(c, ref_c)


@pytest.mark.parametrize("name", CELL_NAMES)
def test_padding_invariance_and_each_sequence_alone(name):
    """More padding (filled with garbage) changes no real output and no final state; each sequence run
    alone, unpadded, gives the same outputs and states: the backward direction starts at its true end."""
    rnn = _randomise(RNN(name, IN, H, 2, bidirectional=True, backend="reference"))
    if rnn.spec.peephole:
        assert any("weight_ch" in n for n, _ in rnn.named_parameters())
    x, _ = _inputs(2, True, False, False)
    x = x.detach()
    lengths = torch.tensor(LENGTHS)
    real = (torch.arange(T)[:, None] < lengths[None, :])[..., None]
    out, states = rnn(x, lengths=lengths)
    assert torch.all(out[~real.expand_as(out)] == 0)

    padded = torch.cat([torch.where(real, x, torch.randn_like(x) * 100), torch.randn(3, B, IN) * 100])
    out_more, states_more = rnn(padded, lengths=lengths)
    torch.testing.assert_close(out_more[:T], out)
    assert torch.all(out_more[T:] == 0)
    for s, s_more in zip(_states(states), _states(states_more), strict=True):
        torch.testing.assert_close(s_more, s)

    for b, n in enumerate(LENGTHS):
        out_alone, states_alone = rnn(x[:n, b:b + 1])
        torch.testing.assert_close(out[:n, b:b + 1], out_alone)
        for s, s_alone in zip(_states(states), _states(states_alone), strict=True):
            torch.testing.assert_close(s[:, b:b + 1], s_alone)


@pytest.mark.parametrize("name", ["lstm", "mingru"])
def test_mask_equals_lengths_and_batch_first(name):
    rnn = _randomise(RNN(name, IN, H, 1, bidirectional=True, batch_first=True))
    x = torch.randn(B, T, IN)
    lengths = torch.tensor(LENGTHS)
    mask = torch.arange(T)[None, :] < lengths[:, None]
    out_l, s_l = rnn(x, lengths=LENGTHS)
    out_m, s_m = rnn(x, mask=mask)
    torch.testing.assert_close(out_l, out_m)
    for a, b in zip(_states(s_l), _states(s_m), strict=True):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="first steps"):
        rnn(x, mask=mask.flip(1))


def test_unbatched_input_and_zero_length():
    rnn = _randomise(RNN("lstm", IN, H, 2))
    x = torch.randn(T, IN)
    out, (h, c) = rnn(x)
    out_b, (h_b, c_b) = rnn(x[:, None])
    assert out.shape == (T, H) and h.shape == (2, H)
    torch.testing.assert_close(out, out_b[:, 0])
    torch.testing.assert_close(c, c_b[:, 0])
    # a sequence of length 0 keeps its initial state and outputs zeros
    h0, c0 = torch.randn(2, 2, H), torch.randn(2, 2, H)
    out, (h, c) = rnn(torch.randn(T, 2, IN), (h0, c0), lengths=[T, 0])
    assert torch.all(out[:, 1] == 0)
    torch.testing.assert_close(h[:, 1], h0[:, 1])
    torch.testing.assert_close(c[:, 1], c0[:, 1])


def test_reverse_padded():
    x = torch.arange(12.0).reshape(4, 3, 1)  # (time, batch, 1)
    rev = reverse_padded(x, reverse_index(4, torch.tensor([4, 2, 0]), x.device))
    assert rev[:, 0, 0].tolist() == [9.0, 6.0, 3.0, 0.0]
    assert rev[:, 1, 0].tolist() == [4.0, 1.0, 7.0, 10.0]  # reversed within its 2 steps, padding stays
    assert rev[:, 2, 0].tolist() == [2.0, 5.0, 8.0, 11.0]
    assert torch.equal(reverse_padded(x, None), x.flip(0))


@pytest.mark.parametrize("name", CELL_NAMES)
def test_initialisation(name):
    rnn = RNN(name, IN, H, 2, bidirectional=True, forget_bias=1.5)
    for layer in range(2):
        for direction in range(2):
            w_ih, w_hh, b_ih, b_hh, w_ch = rnn._weights(layer, direction)
            for block in w_hh.detach().chunk(rnn.spec.num_gates):
                torch.testing.assert_close(block @ block.T, torch.eye(H), atol=1e-5, rtol=0)
            forget = rnn.spec.forget_gate
            expected = torch.zeros_like(b_ih)
            if forget is not None:
                expected[forget * H:(forget + 1) * H] = 1.5
            assert torch.equal(b_ih.detach(), expected) and not b_hh.detach().any()
            assert w_ch is None or not w_ch.detach().any()


def test_dropout_only_in_training_and_variational_masks():
    torch.manual_seed(0)
    rnn = RNN("lstm", IN, H, 3, dropout=0.5, input_dropout=0.3, output_dropout=0.2)
    x = torch.randn(T, B, IN)
    rnn.eval()
    plain = RNN("lstm", IN, H, 3)
    plain.load_state_dict(rnn.state_dict())
    torch.testing.assert_close(rnn(x)[0], plain(x)[0])
    rnn.train()
    assert not torch.allclose(rnn(x)[0], plain(x)[0])

    variational = RNN("lstm", IN, H, 3, dropout=0.5, input_dropout=0.5, variational=True)
    dropped = variational._drop(torch.ones(6, 4, 50), 0.5)
    assert torch.equal(dropped, dropped[:1].expand_as(dropped))  # one mask per sequence, every step
    assert set(dropped.unique().tolist()) == {0.0, 2.0}
    assert not torch.equal(dropped[:, 0], dropped[:, 1])
    standard = rnn._drop(torch.ones(6, 4, 50), 0.5)
    assert not torch.equal(standard, standard[:1].expand_as(standard))
    # variational dropout between layers runs torch's fused RNN layer by layer; in eval it is the plain stack
    out, _ = variational(x)
    assert out.shape == (T, B, H)
    variational.eval()
    plain.load_state_dict(variational.state_dict())
    torch.testing.assert_close(variational(x)[0], plain(x)[0])


def test_configuration_errors():
    with pytest.raises(ConfigError, match="unknown RNN cell"):
        RNN("qrnn", IN, H)
    with pytest.raises(ConfigError, match="backend torch"):
        RNN("peephole", IN, H, backend="torch")
    with pytest.raises(ConfigError, match="backend triton"):
        RNN("lstm", IN, H, backend="triton")
    with pytest.raises(ConfigError, match="dropout"):
        RNN("gru", IN, H, dropout=1.0)
    rnn = RNN("gru", IN, H)
    with pytest.raises(ValueError, match="input_size"):
        rnn(torch.randn(T, B, IN + 1))
    with pytest.raises(ValueError, match="lengths must lie"):
        rnn(torch.randn(T, B, IN), lengths=[T + 1] * B)
    with pytest.raises(ValueError, match="h_0"):
        rnn(torch.randn(T, B, IN), torch.zeros(2, B, H))
    with pytest.raises(ValueError, match="hx"):
        RNN("lstm", IN, H)(torch.randn(T, B, IN), torch.zeros(1, B, H))


def test_works_without_triton(monkeypatch):
    """triton is optional: without it the kernel cells run the reference path and backend triton says why."""
    monkeypatch.setitem(sys.modules, "triton", None)  # makes `import triton` raise ImportError
    from seqlab.rnn import kernels

    assert not kernels.available()
    rnn = RNN("peephole", IN, H)
    assert rnn.resolved_backend(torch.device("cuda")) == "reference"
    out, _ = rnn(torch.randn(T, B, IN))
    assert out.shape == (T, B, H)
    with pytest.raises(ConfigError, match="pip install triton"):
        RNN("cifg", IN, H, backend="triton")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(TORCH_CELLS))
def test_cudnn_dispatch_equals_torch_on_gpu(name):
    torch_class, kw = TORCH_CELLS[name]
    ref = _randomise(torch_class(IN, H, 2, bidirectional=True, **kw)).cuda()
    ours = _ours(name, 2, True, False, "auto").cuda()
    ours.load_state_dict(ref.state_dict())
    weights = [getattr(ours, n) for n in ours._flat_weights_names]
    assert all(w.untyped_storage().data_ptr() == weights[0].untyped_storage().data_ptr() for w in weights)
    x = torch.randn(T, B, IN, device="cuda", requires_grad=True)
    lengths = torch.tensor(LENGTHS)
    out, states = ours(x, lengths=lengths)
    ref_out, ref_states = ref(pack_padded_sequence(x, lengths, enforce_sorted=False))
    ref_out, _ = pad_packed_sequence(ref_out, total_length=T)
    torch.testing.assert_close(out, ref_out)
    for s, r in zip(_states(states), _states(ref_states), strict=True):
        torch.testing.assert_close(s, r)
