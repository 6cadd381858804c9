"""Fused GPU recurrences for the peephole LSTM, the CIFG LSTM and the minimal GRU (Triton).

``fused_recurrence`` runs one layer in one direction over a whole (padded) sequence. The caller
has already done the input projection for all steps as one matmul; per step the forward runs one
cuBLAS matmul (``gates_x[t] + h W_hh^T``) and one Triton kernel launch (the pointwise gate math,
masking and the state update), and the backward one Triton launch and one matmul; dL/dW_hh is one
matmul over all steps at the end. The pure PyTorch cells in seqlab/rnn/cells.py are the reference
these are tested against.

Triton is optional: ``available()`` says whether it imports; nothing here imports it until a kernel
is first used. Kernels run on CUDA tensors, or on CPU tensors through Triton's interpreter when
``TRITON_INTERPRET=1`` is set before their first use (how CI tests them).
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

__all__ = ["KERNEL_CELLS", "available", "fused_recurrence", "interpreting"]

KERNEL_CELLS = ("peephole", "cifg", "mingru")
_NUM_GATES = {"peephole": 4, "cifg": 3, "mingru": 2}


def available() -> bool:
    """True when triton can be imported."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def interpreting() -> bool:
    """True when Triton's interpreter is asked for (``TRITON_INTERPRET=1``): kernels run on CPU tensors."""
    return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


def _kernels(cell: str):
    from seqlab.rnn.kernels import pointwise

    return getattr(pointwise, f"{cell}_forward"), getattr(pointwise, f"{cell}_backward")


def _block(hidden: int, device: torch.device) -> int:
    # On a GPU a block of 128 units gives batch * hidden / 128 programs, enough to fill the SMs at
    # small batches; the interpreter runs programs one by one in Python, so there fewer, wider ones.
    cap = 128 if device.type == "cuda" else 1024
    return min(cap, triton_next_power_of_2(hidden))


def triton_next_power_of_2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


class _FusedRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cell: str, gates_x: Tensor, weight_hh: Tensor, weight_ch: Tensor | None, h0: Tensor,
                c0: Tensor | None, lengths: Tensor):
        forward_kernel, _ = _kernels(cell)
        steps, batch, gates = gates_x.shape
        hidden = weight_hh.shape[1]
        has_c = cell != "mingru"
        gates_x = gates_x.contiguous()
        hstate = gates_x.new_empty(steps + 1, batch, hidden)
        hstate[0] = h0
        # the memory cell and the activations stay float32 whatever the input dtype
        cstate = gates_x.new_empty(steps + 1, batch, hidden if has_c else 1, dtype=torch.float32)
        cstate[0] = c0 if has_c else 0
        out = gates_x.new_empty(steps, batch, hidden)
        act = gates_x.new_empty(steps, batch, gates, dtype=torch.float32)
        pre = gates_x.new_empty(batch, gates)
        wch = weight_ch.contiguous() if weight_ch is not None else cstate  # unused by cifg/mingru
        weight_hh_t = weight_hh.t()
        block = _block(hidden, gates_x.device)
        grid = (batch, -(-hidden // block))
        for t in range(steps):
            torch.addmm(gates_x[t], hstate[t], weight_hh_t, out=pre)
            forward_kernel[grid](pre, wch, hstate[t], cstate[t], hstate[t + 1], cstate[t + 1], out[t], act[t],
                                 lengths, t, hidden, BLOCK=block)
        ctx.cell, ctx.grid, ctx.block, ctx.has_c = cell, grid, block, has_c
        ctx.c0_dtype = c0.dtype if c0 is not None else None
        ctx.save_for_backward(weight_hh, weight_ch, hstate, cstate, act, lengths)
        h_n = hstate[steps].clone()
        c_n = cstate[steps].to(gates_x.dtype) if has_c else None
        return out, h_n, c_n

    @staticmethod
    def backward(ctx, grad_out: Tensor | None, grad_hn: Tensor | None, grad_cn: Tensor | None):
        _, backward_kernel = _kernels(ctx.cell)
        weight_hh, weight_ch, hstate, cstate, act, lengths = ctx.saved_tensors
        steps, batch, gates = act.shape
        hidden = weight_hh.shape[1]
        dtype = hstate.dtype
        grad_out = hstate.new_zeros(steps, batch, hidden) if grad_out is None else grad_out.contiguous()
        dh = hstate.new_zeros(batch, hidden) if grad_hn is None else grad_hn.to(dtype).clone()
        dc = cstate.new_zeros(batch, hidden if ctx.has_c else 1)
        if grad_cn is not None and ctx.has_c:
            dc += grad_cn
        dh_direct = hstate.new_empty(batch, hidden)
        da = hstate.new_empty(steps, batch, gates)
        dwch = cstate.new_zeros(batch, 3 * hidden) if weight_ch is not None else cstate
        wch = weight_ch.contiguous() if weight_ch is not None else cstate
        for t in reversed(range(steps)):
            backward_kernel[ctx.grid](act[t], wch, cstate[t], cstate[t + 1], hstate[t], grad_out[t], dh, dc, da[t],
                                      dh_direct, dwch, lengths, t, hidden, BLOCK=ctx.block)
            torch.addmm(dh_direct, da[t], weight_hh, out=dh)
        flat_da = da.reshape(steps * batch, gates)
        grad_weight_hh = flat_da.t().mm(hstate[:-1].reshape(steps * batch, hidden))
        grad_weight_ch = dwch.sum(0).to(weight_ch.dtype) if weight_ch is not None else None
        grad_c0 = dc.to(ctx.c0_dtype) if ctx.has_c else None
        return None, da, grad_weight_hh, grad_weight_ch, dh, grad_c0, None


def fused_recurrence(cell: str, gates_x: Tensor, weight_hh: Tensor, weight_ch: Tensor | None, h0: Tensor,
                     c0: Tensor | None, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run ``cell`` (peephole, cifg or mingru) over all steps with the Triton kernels.

    gates_x: (time, batch, num_gates * hidden), W_ih x + b_ih + b_hh for every step; weight_hh:
    (num_gates * hidden, hidden); weight_ch: (3 * hidden,) for the peephole LSTM, else None; h0, c0:
    (batch, hidden) (c0 None for mingru); lengths: (batch,) int32 on the tensors' device, steps
    ``t >= lengths[b]`` leave row b's state unchanged and output zeros.
    Returns output (time, batch, hidden), h_n and c_n (batch, hidden) (c_n None for mingru).
    """
    if cell not in KERNEL_CELLS:
        raise ValueError(f"no Triton kernel for cell {cell!r}; kernels exist for {', '.join(KERNEL_CELLS)}")
    if not available():
        raise RuntimeError("the fused RNN kernels need triton: pip install triton")
    if gates_x.device.type != "cuda" and not interpreting():
        raise RuntimeError("the Triton RNN kernels run on CUDA tensors, or on CPU tensors with TRITON_INTERPRET=1 "
                           "set before seqlab.rnn.kernels first runs a kernel")
    if gates_x.shape[-1] != _NUM_GATES[cell] * weight_hh.shape[1]:
        raise ValueError(f"{cell}: gates_x has {gates_x.shape[-1]} columns, expected "
                         f"{_NUM_GATES[cell]} x hidden {weight_hh.shape[1]}")
    dtype = gates_x.dtype  # under autocast the projection may come out in a narrower dtype than the weights
    return _FusedRecurrence.apply(cell, gates_x, weight_hh.to(dtype), weight_ch, h0.to(dtype),
                                  c0.to(dtype) if c0 is not None else None, lengths)
