"""Triton kernels for the pointwise part of one time step, forward and backward, of the peephole
LSTM, the CIFG LSTM and the minimal GRU (equations in seqlab/rnn/cells.py).

One program handles one batch row ``b`` and a block of hidden units ``j``. The step's gate
pre-activations ``a`` (batch, num_gates * hidden) already hold W_ih x + b_ih + W_hh h + b_hh (the
matmuls stay with cuBLAS); a kernel applies the gates, writes the new state, the zero-padded output
and the activations that the backward kernel needs, and leaves the state unchanged at padded steps
(``t >= lengths[b]``). Arithmetic is in float32 whatever the storage dtype.

Backward kernels take the gradient of the step's output, the carried dL/dh and dL/dc, and write
dL/da (which is both dL/d gates_x and dL/d gates_h, as none of these cells gates W_hh h), dL/dc_{t-1}
(in place), the part of dL/dh_{t-1} that does not pass through W_hh, and peephole gradients summed
over steps per batch row.

This module imports triton at import time and defines the kernels then; set ``TRITON_INTERPRET=1``
before it is first imported to run them on CPU tensors.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _tanh(x):
    return 2.0 * tl.sigmoid(2.0 * x) - 1.0


@triton.jit
def _row(lengths_ptr, t, hidden, BLOCK: tl.constexpr):
    b = tl.program_id(0)
    j = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    return b, j, j < hidden, tl.load(lengths_ptr + b) > t


@triton.jit
def _total_dh(dh_ptr, dout_ptr, s, m, real):
    # dL/dh_t: carried from step t + 1, plus the output's gradient at real steps (padded outputs are
    # constant zeros, so their gradient goes nowhere)
    dout = tl.load(dout_ptr + s, mask=m).to(tl.float32)
    return tl.load(dh_ptr + s, mask=m).to(tl.float32) + tl.where(real, dout, 0.0)


@triton.jit
def _store_step(h_new_ptr, out_ptr, s, h_new, h, real, m):
    """A step's new hidden state and output; past a sequence's end the state is kept and the output is 0."""
    tl.store(h_new_ptr + s, tl.where(real, h_new, h).to(h_new_ptr.dtype.element_ty), mask=m)
    tl.store(out_ptr + s, tl.where(real, h_new, 0.0).to(out_ptr.dtype.element_ty), mask=m)


@triton.jit
def _store_lstm_step(c_new_ptr, h_new_ptr, out_ptr, s, c_new, c, h_new, h, real, m):
    """:func:`_store_step` plus the new cell state (kept past a sequence's end)."""
    tl.store(c_new_ptr + s, tl.where(real, c_new, c), mask=m)
    _store_step(h_new_ptr, out_ptr, s, h_new, h, real, m)


# --- peephole LSTM: gates i, f, g, o; weight_ch = (p_i, p_f, p_o) -----------------------------------

@triton.jit(do_not_specialize=["t"])
def peephole_forward(a_ptr, wch_ptr, h_ptr, c_ptr, h_new_ptr, c_new_ptr, out_ptr, act_ptr, lengths_ptr,
                     t, hidden, BLOCK: tl.constexpr):
    b, j, m, real = _row(lengths_ptr, t, hidden, BLOCK)
    g0 = b * 4 * hidden + j
    s = b * hidden + j
    a_i = tl.load(a_ptr + g0, mask=m).to(tl.float32)
    a_f = tl.load(a_ptr + g0 + hidden, mask=m).to(tl.float32)
    a_g = tl.load(a_ptr + g0 + 2 * hidden, mask=m).to(tl.float32)
    a_o = tl.load(a_ptr + g0 + 3 * hidden, mask=m).to(tl.float32)
    p_i = tl.load(wch_ptr + j, mask=m).to(tl.float32)
    p_f = tl.load(wch_ptr + hidden + j, mask=m).to(tl.float32)
    p_o = tl.load(wch_ptr + 2 * hidden + j, mask=m).to(tl.float32)
    h = tl.load(h_ptr + s, mask=m).to(tl.float32)
    c = tl.load(c_ptr + s, mask=m).to(tl.float32)
    i = tl.sigmoid(a_i + p_i * c)
    f = tl.sigmoid(a_f + p_f * c)
    g = _tanh(a_g)
    c_new = f * c + i * g
    o = tl.sigmoid(a_o + p_o * c_new)
    h_new = o * _tanh(c_new)
    tl.store(act_ptr + g0, i, mask=m)
    tl.store(act_ptr + g0 + hidden, f, mask=m)
    tl.store(act_ptr + g0 + 2 * hidden, g, mask=m)
    tl.store(act_ptr + g0 + 3 * hidden, o, mask=m)
    _store_lstm_step(c_new_ptr, h_new_ptr, out_ptr, s, c_new, c, h_new, h, real, m)


@triton.jit(do_not_specialize=["t"])
def peephole_backward(act_ptr, wch_ptr, c_ptr, c_new_ptr, h_ptr, dout_ptr, dh_ptr, dc_ptr, da_ptr, dh_direct_ptr,
                      dwch_ptr, lengths_ptr, t, hidden, BLOCK: tl.constexpr):
    b, j, m, real = _row(lengths_ptr, t, hidden, BLOCK)
    g0 = b * 4 * hidden + j
    s = b * hidden + j
    i = tl.load(act_ptr + g0, mask=m)
    f = tl.load(act_ptr + g0 + hidden, mask=m)
    g = tl.load(act_ptr + g0 + 2 * hidden, mask=m)
    o = tl.load(act_ptr + g0 + 3 * hidden, mask=m)
    p_i = tl.load(wch_ptr + j, mask=m).to(tl.float32)
    p_f = tl.load(wch_ptr + hidden + j, mask=m).to(tl.float32)
    p_o = tl.load(wch_ptr + 2 * hidden + j, mask=m).to(tl.float32)
    c = tl.load(c_ptr + s, mask=m)
    c_new = tl.load(c_new_ptr + s, mask=m)
    dc = tl.load(dc_ptr + s, mask=m)
    dh = _total_dh(dh_ptr, dout_ptr, s, m, real)
    tc = _tanh(c_new)
    da_o = dh * tc * o * (1.0 - o)
    dc_new = dc + dh * o * (1.0 - tc * tc) + da_o * p_o
    da_i = dc_new * g * i * (1.0 - i)
    da_f = dc_new * c * f * (1.0 - f)
    da_g = dc_new * i * (1.0 - g * g)
    dc_prev = dc_new * f + da_i * p_i + da_f * p_f
    zero = tl.zeros_like(da_i)
    ty = da_ptr.dtype.element_ty
    tl.store(da_ptr + g0, tl.where(real, da_i, zero).to(ty), mask=m)
    tl.store(da_ptr + g0 + hidden, tl.where(real, da_f, zero).to(ty), mask=m)
    tl.store(da_ptr + g0 + 2 * hidden, tl.where(real, da_g, zero).to(ty), mask=m)
    tl.store(da_ptr + g0 + 3 * hidden, tl.where(real, da_o, zero).to(ty), mask=m)
    tl.store(dc_ptr + s, tl.where(real, dc_prev, dc), mask=m)
    tl.store(dh_direct_ptr + s, tl.where(real, zero, dh).to(dh_direct_ptr.dtype.element_ty), mask=m)
    w0 = b * 3 * hidden + j
    tl.store(dwch_ptr + w0, tl.load(dwch_ptr + w0, mask=m) + tl.where(real, da_i * c, zero), mask=m)
    tl.store(dwch_ptr + w0 + hidden, tl.load(dwch_ptr + w0 + hidden, mask=m) + tl.where(real, da_f * c, zero),
             mask=m)
    tl.store(dwch_ptr + w0 + 2 * hidden,
             tl.load(dwch_ptr + w0 + 2 * hidden, mask=m) + tl.where(real, da_o * c_new, zero), mask=m)


# --- CIFG LSTM: gates f, g, o; i = 1 - f -------------------------------------------------------------

@triton.jit(do_not_specialize=["t"])
def cifg_forward(a_ptr, wch_ptr, h_ptr, c_ptr, h_new_ptr, c_new_ptr, out_ptr, act_ptr, lengths_ptr,
                 t, hidden, BLOCK: tl.constexpr):
    b, j, m, real = _row(lengths_ptr, t, hidden, BLOCK)
    g0 = b * 3 * hidden + j
    s = b * hidden + j
    f = tl.sigmoid(tl.load(a_ptr + g0, mask=m).to(tl.float32))
    g = _tanh(tl.load(a_ptr + g0 + hidden, mask=m).to(tl.float32))
    o = tl.sigmoid(tl.load(a_ptr + g0 + 2 * hidden, mask=m).to(tl.float32))
    h = tl.load(h_ptr + s, mask=m).to(tl.float32)
    c = tl.load(c_ptr + s, mask=m).to(tl.float32)
    c_new = f * c + (1.0 - f) * g
    h_new = o * _tanh(c_new)
    tl.store(act_ptr + g0, f, mask=m)
    tl.store(act_ptr + g0 + hidden, g, mask=m)
    tl.store(act_ptr + g0 + 2 * hidden, o, mask=m)
    _store_lstm_step(c_new_ptr, h_new_ptr, out_ptr, s, c_new, c, h_new, h, real, m)


@triton.jit(do_not_specialize=["t"])
def cifg_backward(act_ptr, wch_ptr, c_ptr, c_new_ptr, h_ptr, dout_ptr, dh_ptr, dc_ptr, da_ptr, dh_direct_ptr,
                  dwch_ptr, lengths_ptr, t, hidden, BLOCK: tl.constexpr):
    b, j, m, real = _row(lengths_ptr, t, hidden, BLOCK)
    g0 = b * 3 * hidden + j
    s = b * hidden + j
    f = tl.load(act_ptr + g0, mask=m)
    g = tl.load(act_ptr + g0 + hidden, mask=m)
    o = tl.load(act_ptr + g0 + 2 * hidden, mask=m)
    c = tl.load(c_ptr + s, mask=m)
    c_new = tl.load(c_new_ptr + s, mask=m)
    dc = tl.load(dc_ptr + s, mask=m)
    dh = _total_dh(dh_ptr, dout_ptr, s, m, real)
    tc = _tanh(c_new)
    da_o = dh * tc * o * (1.0 - o)
    dc_new = dc + dh * o * (1.0 - tc * tc)
    da_f = dc_new * (c - g) * f * (1.0 - f)
    da_g = dc_new * (1.0 - f) * (1.0 - g * g)
    zero = tl.zeros_like(da_f)
    ty = da_ptr.dtype.element_ty
    tl.store(da_ptr + g0, tl.where(real, da_f, zero).to(ty), mask=m)
    tl.store(da_ptr + g0 + hidden, tl.where(real, da_g, zero).to(ty), mask=m)
    tl.store(da_ptr + g0 + 2 * hidden, tl.where(real, da_o, zero).to(ty), mask=m)
    tl.store(dc_ptr + s, tl.where(real, dc_new * f, dc), mask=m)
    tl.store(dh_direct_ptr + s, tl.where(real, zero, dh).to(dh_direct_ptr.dtype.element_ty), mask=m)


# --- minimal GRU: gates z, n; h' = z * n + (1 - z) * h -----------------------------------------------

@triton.jit(do_not_specialize=["t"])
def mingru_forward(a_ptr, wch_ptr, h_ptr, c_ptr, h_new_ptr, c_new_ptr, out_ptr, act_ptr, lengths_ptr,
                   t, hidden, BLOCK: tl.constexpr):
    b, j, m, real = _row(lengths_ptr, t, hidden, BLOCK)
    g0 = b * 2 * hidden + j
    s = b * hidden + j
    z = tl.sigmoid(tl.load(a_ptr + g0, mask=m).to(tl.float32))
    n = _tanh(tl.load(a_ptr + g0 + hidden, mask=m).to(tl.float32))
    h = tl.load(h_ptr + s, mask=m).to(tl.float32)
    h_new = z * n + (1.0 - z) * h
    tl.store(act_ptr + g0, z, mask=m)
    tl.store(act_ptr + g0 + hidden, n, mask=m)
    _store_step(h_new_ptr, out_ptr, s, h_new, h, real, m)


@triton.jit(do_not_specialize=["t"])
def mingru_backward(act_ptr, wch_ptr, c_ptr, c_new_ptr, h_ptr, dout_ptr, dh_ptr, dc_ptr, da_ptr, dh_direct_ptr,
                    dwch_ptr, lengths_ptr, t, hidden, BLOCK: tl.constexpr):
    b, j, m, real = _row(lengths_ptr, t, hidden, BLOCK)
    g0 = b * 2 * hidden + j
    s = b * hidden + j
    z = tl.load(act_ptr + g0, mask=m)
    n = tl.load(act_ptr + g0 + hidden, mask=m)
    h = tl.load(h_ptr + s, mask=m).to(tl.float32)
    dh = _total_dh(dh_ptr, dout_ptr, s, m, real)
    da_z = dh * (n - h) * z * (1.0 - z)
    da_n = dh * z * (1.0 - n * n)
    zero = tl.zeros_like(da_z)
    ty = da_ptr.dtype.element_ty
    tl.store(da_ptr + g0, tl.where(real, da_z, zero).to(ty), mask=m)
    tl.store(da_ptr + g0 + hidden, tl.where(real, da_n, zero).to(ty), mask=m)
    tl.store(dh_direct_ptr + s, tl.where(real, dh * (1.0 - z), dh).to(dh_direct_ptr.dtype.element_ty), mask=m)
