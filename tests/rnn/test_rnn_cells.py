"""Each cell's step against its equations written out here by hand, and gradcheck in float64."""

import pytest
import torch

from seqlab.errors import ConfigError
from seqlab.rnn import CIFGCell, ElmanCell, GRUCell, LSTMCell, MinimalGRUCell, PeepholeLSTMCell
from seqlab.rnn.cells import CELL_CLASSES, cell_spec

B, IN, H = 3, 4, 5
sig, tanh = torch.sigmoid, torch.tanh


def _randomised(cell):
    """A cell with every parameter random (the peepholes start at zero otherwise)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.7)
    return cell


def _blocks(cell, n):
    """Per-gate (W_x, W_h, b) with b = b_ih + b_hh, in the cell's gate order."""
    wx, wh = cell.weight_ih.chunk(n), cell.weight_hh.chunk(n)
    bx, bh = cell.bias_ih.chunk(n), cell.bias_hh.chunk(n)
    return [(wx[k], wh[k], bx[k], bh[k]) for k in range(n)]


def _lin(x, h, block):
    wx, wh, bx, bh = block
    return x @ wx.T + bx + h @ wh.T + bh


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    x, h, c = (torch.randn(B, n, generator=gen, dtype=torch.float64) for n in (IN, H, H))
    return x, h, c


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman(data, nonlinearity):
    x, h, _ = data
    cell = _randomised(ElmanCell(IN, H, nonlinearity=nonlinearity, dtype=torch.float64))
    (block,) = _blocks(cell, 1)
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    torch.testing.assert_close(cell(x, h), act(_lin(x, h, block)))
    ref = torch.nn.RNNCell(IN, H, nonlinearity=nonlinearity, dtype=torch.float64)
    ref.load_state_dict(cell.state_dict())
    torch.testing.assert_close(cell(x, h), ref(x, h))


def test_gru(data):
    x, h, _ = data
    cell = _randomised(GRUCell(IN, H, dtype=torch.float64))
    (wxr, whr, bxr, bhr), (wxz, whz, bxz, bhz), (wxn, whn, bxn, bhn) = _blocks(cell, 3)
    r = sig(x @ wxr.T + bxr + h @ whr.T + bhr)
    z = sig(x @ wxz.T + bxz + h @ whz.T + bhz)
    n = tanh(x @ wxn.T + bxn + r * (h @ whn.T + bhn))
    torch.testing.assert_close(cell(x, h), (1 - z) * n + z * h)
    ref = torch.nn.GRUCell(IN, H, dtype=torch.float64)
    ref.load_state_dict(cell.state_dict())
    torch.testing.assert_close(cell(x, h), ref(x, h))


def test_minimal_gru(data):
    x, h, _ = data
    cell = _randomised(MinimalGRUCell(IN, H, dtype=torch.float64))
    bz, bn = _blocks(cell, 2)
    g = sig(_lin(x, h, bz))  # the update gate G
    candidate = tanh(_lin(x, h, bn))
    torch.testing.assert_close(cell(x, h), g * candidate + (1 - g) * h)


def test_lstm(data):
    x, h, c = data
    cell = _randomised(LSTMCell(IN, H, dtype=torch.float64))
    bi, bf, bg, bo = _blocks(cell, 4)
    i, f, g, o = sig(_lin(x, h, bi)), sig(_lin(x, h, bf)), tanh(_lin(x, h, bg)), sig(_lin(x, h, bo))
    c_new = f * c + i * g
    h_new, c_out = cell(x, (h, c))
    torch.testing.assert_close(c_out, c_new)
    torch.testing.assert_close(h_new, o * tanh(c_new))
    ref = torch.nn.LSTMCell(IN, H, dtype=torch.float64)
    ref.load_state_dict(cell.state_dict())
    torch.testing.assert_close(cell(x, (h, c)), ref(x, (h, c)))


def test_peephole_lstm(data):
    x, h, c = data
    cell = _randomised(PeepholeLSTMCell(IN, H, dtype=torch.float64))
    bi, bf, bg, bo = _blocks(cell, 4)
    p_i, p_f, p_o = cell.weight_ch[:H], cell.weight_ch[H:2 * H], cell.weight_ch[2 * H:]
    i = sig(_lin(x, h, bi) + p_i * c)  # input and forget gates peep at c_{t-1}
    f = sig(_lin(x, h, bf) + p_f * c)
    c_new = f * c + i * tanh(_lin(x, h, bg))
    o = sig(_lin(x, h, bo) + p_o * c_new)  # the output gate peeps at c_t
    h_new, c_out = cell(x, (h, c))
    torch.testing.assert_close(c_out, c_new)
    torch.testing.assert_close(h_new, o * tanh(c_new))
    # zero peepholes make it an LSTM
    with torch.no_grad():
        cell.weight_ch.zero_()
    lstm = LSTMCell(IN, H, dtype=torch.float64)
    lstm.load_state_dict(cell.state_dict(), strict=False)
    torch.testing.assert_close(cell(x, (h, c)), lstm(x, (h, c)))


def test_cifg(data):
    x, h, c = data
    cell = _randomised(CIFGCell(IN, H, dtype=torch.float64))
    assert cell.weight_ih.shape == (3 * H, IN)
    bf, bg, bo = _blocks(cell, 3)
    f = sig(_lin(x, h, bf))
    c_new = f * c + (1 - f) * tanh(_lin(x, h, bg))  # i = 1 - f
    h_new, c_out = cell(x, (h, c))
    torch.testing.assert_close(c_out, c_new)
    torch.testing.assert_close(h_new, sig(_lin(x, h, bo)) * tanh(c_new))


def test_missing_state_is_zeros(data):
    x, _, _ = data
    cell = _randomised(LSTMCell(IN, H, dtype=torch.float64))
    zeros = torch.zeros(B, H, dtype=torch.float64)
    torch.testing.assert_close(cell(x), cell(x, (zeros, zeros)))


@pytest.mark.parametrize("name", sorted(CELL_CLASSES))
def test_gradcheck(name):
    cell = _randomised(CELL_CLASSES[name](2, 3, dtype=torch.float64))
    gen = torch.Generator().manual_seed(2)
    x, h, c = (torch.randn(2, n, generator=gen, dtype=torch.float64, requires_grad=True) for n in (2, 3, 3))
    names = [n for n, _ in cell.named_parameters()]
    has_c = cell.spec.has_cell_state

    def f(x, h, c, *params):
        out = torch.func.functional_call(cell, dict(zip(names, params, strict=True)), (x, (h, c) if has_c else h))
        return out if has_c else (out,)

    inputs = (x, h, c, *[p.detach().clone().requires_grad_() for p in cell.parameters()])
    assert torch.autograd.gradcheck(f, inputs)


def test_init_orthogonal_and_forget_bias():
    cell = LSTMCell(3, 4)
    for block in cell.weight_hh.detach().chunk(4):
        torch.testing.assert_close(block @ block.T, torch.eye(4), atol=1e-5, rtol=0)
    assert torch.equal(cell.bias_ih.detach()[4:8], torch.ones(4))  # f is the second block
    assert cell.bias_ih.detach()[:4].abs().sum() == 0 and cell.bias_hh.detach().abs().sum() == 0
    cifg = CIFGCell(3, 4, forget_bias=2.0)
    assert torch.equal(cifg.bias_ih.detach()[:4], torch.full((4,), 2.0))  # f is the first block
    assert GRUCell(3, 4).bias_ih.detach().abs().sum() == 0


def test_unknown_cell():
    with pytest.raises(ConfigError, match="unknown RNN cell"):
        cell_spec("qrnn")
    with pytest.raises(ConfigError, match="nonlinearity"):
        cell_spec("rnn", "sigmoid")
