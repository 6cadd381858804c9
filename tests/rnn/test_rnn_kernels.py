"""The Triton kernels against the reference cells, forward and backward.

Without CUDA they run on the CPU through Triton's interpreter (conftest.py sets TRITON_INTERPRET=1
before the kernels are defined); the ``gpu`` tests run them compiled, on a real GPU, in float32 and
bfloat16.
"""

import pytest
import torch

from seqlab.rnn import RNN, kernels
from seqlab.rnn.cells import SPECS

CUDA = torch.cuda.is_available()
pytestmark = [
    pytest.mark.skipif(not kernels.available(), reason="triton is not installed (pip install triton)"),
    pytest.mark.skipif(not CUDA and not kernels.interpreting(),
                       reason="no CUDA and TRITON_INTERPRET is not 1: the kernels cannot run here"),
]
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs CUDA")


def _reference(cell, gates_x, weight_hh, weight_ch, h0, c0, lengths):
    """The recurrence of kernels.fused_recurrence written with the reference step functions."""
    step = SPECS[cell].step
    h, c, outputs = h0, c0, []
    for t in range(gates_x.shape[0]):
        h_new, c_new = step(gates_x[t], h @ weight_hh.T, h, c, weight_ch)
        real = (t < lengths)[:, None]
        outputs.append(torch.where(real, h_new, 0.0))
        h = torch.where(real, h_new, h)
        c = torch.where(real, c_new, c) if c is not None else None
    return torch.stack(outputs), h, c


def _problem(cell, steps, batch, hidden, device, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    spec = SPECS[cell]

    def rand(*shape, scale=1.0):
        return (torch.randn(shape, generator=gen) * scale).to(device, dtype).requires_grad_()

    gates_x = rand(steps, batch, spec.num_gates * hidden)
    weight_hh = rand(spec.num_gates * hidden, hidden, scale=hidden ** -0.5)
    weight_ch = rand(3 * hidden, scale=0.5) if spec.peephole else None
    h0 = rand(batch, hidden)
    c0 = rand(batch, hidden) if spec.has_cell_state else None
    lengths = torch.randint(0, steps + 1, (batch,), generator=gen)
    lengths[0] = steps
    return gates_x, weight_hh, weight_ch, h0, c0, lengths.to(device, torch.int32)


def _compare(cell, device, dtype, steps, batch, hidden, atol, rtol, use_output=True):
    args = _problem(cell, steps, batch, hidden, device, dtype)
    leaves = [a for a in args[:5] if a is not None]
    fused = kernels.fused_recurrence(cell, *args)
    ref = _reference(cell, *[a.float() if a is not None and a.is_floating_point() else a for a in args])
    gen = torch.Generator().manual_seed(3)
    weights = [torch.randn(r.shape, generator=gen).to(device) if r is not None else None for r in ref]
    if not use_output:
        weights[0] = None  # only the final states are used: the output's gradient is None

    def loss(results):
        return sum((r.float() * w).sum() for r, w in zip(results, weights, strict=True) if w is not None)

    for f, r in zip(fused, ref, strict=True):
        if r is not None:
            torch.testing.assert_close(f.float(), r, atol=atol, rtol=rtol)
    fused_grads = torch.autograd.grad(loss(fused), leaves)
    ref_grads = torch.autograd.grad(loss(ref), leaves)
    for f, r in zip(fused_grads, ref_grads, strict=True):
        torch.testing.assert_close(f.float(), r.float(), atol=atol, rtol=rtol)


@pytest.mark.parametrize("cell", kernels.KERNEL_CELLS)
def test_kernel_equals_reference(cell):
    """Ragged lengths (0 to T), random states and peepholes; hidden 6 is not a power of two."""
    _compare(cell, "cuda" if CUDA else "cpu", torch.float32, steps=6, batch=4, hidden=6, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("cell", kernels.KERNEL_CELLS)
def test_kernel_backward_through_final_states_only(cell):
    _compare(cell, "cuda" if CUDA else "cpu", torch.float32, steps=4, batch=3, hidden=5, atol=2e-5, rtol=1e-4,
             use_output=False)


@pytest.mark.parametrize("cell", kernels.KERNEL_CELLS)
def test_layer_triton_backend_equals_reference(cell):
    """The whole layer, 2 layers, bidirectional, ragged: triton backend = reference backend, with grads."""
    device = "cuda" if CUDA else "cpu"
    torch.manual_seed(0)
    triton_rnn = RNN(cell, 3, 5, 2, bidirectional=True, batch_first=True, backend="triton").to(device)
    with torch.no_grad():
        for p in triton_rnn.parameters():
            p.normal_(0, 0.5)
    reference = RNN(cell, 3, 5, 2, bidirectional=True, batch_first=True, backend="reference").to(device)
    reference.load_state_dict(triton_rnn.state_dict())
    x = torch.randn(3, 5, 3, device=device)
    lengths = torch.tensor([5, 1, 3])
    out_t, states_t = triton_rnn(x, lengths=lengths)
    out_r, states_r = reference(x, lengths=lengths)
    states_t = states_t if isinstance(states_t, tuple) else (states_t,)
    states_r = states_r if isinstance(states_r, tuple) else (states_r,)
    torch.testing.assert_close(out_t, out_r, atol=2e-5, rtol=1e-4)
    for a, b in zip(states_t, states_r, strict=True):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)
    grads_t = torch.autograd.grad(out_t.square().sum() + states_t[0].sum(), list(triton_rnn.parameters()))
    grads_r = torch.autograd.grad(out_r.square().sum() + states_r[0].sum(), list(reference.parameters()))
    for name, a, b in zip([n for n, _ in triton_rnn.named_parameters()], grads_t, grads_r, strict=True):
        torch.testing.assert_close(a, b, atol=5e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("cell", kernels.KERNEL_CELLS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(7, 5, 33), (50, 64, 512)])
@pytest.mark.gpu
@needs_cuda
def test_compiled_kernel_on_gpu(cell, dtype, shape):
    steps, batch, hidden = shape
    tol = {torch.float32: (1e-4, 1e-3), torch.bfloat16: (0.1, 0.05)}[dtype]
    _compare(cell, "cuda", dtype, steps, batch, hidden, *tol)


@pytest.mark.gpu
@needs_cuda
def test_auto_backend_uses_triton_on_gpu():
    for cell in kernels.KERNEL_CELLS:
        assert RNN(cell, 3, 4).resolved_backend(torch.device("cuda")) == "triton"
    assert RNN("lstm", 3, 4).resolved_backend(torch.device("cuda")) == "torch"
