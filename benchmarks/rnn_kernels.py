"""seqlab's RNN layer and cells against cuDNN's LSTM (the anchor), forward + backward, same run.

    python benchmarks/rnn_kernels.py --device cuda                       # the GPU comparison
    python benchmarks/rnn_kernels.py --device cpu --batch 8 --steps 10 --input-size 32 \\
        --hidden-size 64 --iters 3 --warmup 1                           # a quick CPU smoke run

Shape (default): batch 64, 50 steps, input 256, hidden 512, one layer, one direction. For float32
and bfloat16 it times one forward and backward pass (gradients of the input and all weights) of:
torch.nn.LSTM and torch.nn.GRU (cuDNN on a GPU: the anchors); seqlab's RNN layer for each cell
with its default backend (torch's fused RNN for lstm/gru/rnn, the Triton kernels for peephole,
cifg and mingru on CUDA); the eager PyTorch cells (backend="reference", a Python loop over steps);
and the same loop under torch.compile (skipped on the CPU unless --compile, as compiling the
unrolled loop takes minutes there). It prints ms per iteration, tokens (batch x steps) per second
and the ratio of the time to cuDNN LSTM's at the same dtype. Targets on the GPU: lstm/gru within
1.05x of their cuDNN anchors, the fused peephole, cifg and mingru at most 1.5x cuDNN LSTM.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from seqlab.device import resolve_device, synchronize
from seqlab.rnn import CELL_NAMES, RNN

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def time_step(step: Callable[[], None], device: torch.device, iters: int, warmup: int) -> float:
    """Seconds per call of ``step``, after ``warmup`` calls, the device synchronised around the clock."""
    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / iters


def forward_backward(module: torch.nn.Module, x: torch.Tensor, grad: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        out, _ = module(x)
        out.backward(grad)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--hidden-size", type=int, default=512)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--dtypes", default="fp32,bf16", help="comma-separated: fp32, bf16")
    parser.add_argument("--cells", default=",".join(CELL_NAMES), help="comma-separated cells for seqlab's rows")
    parser.add_argument("--compile", action="store_true", help="time torch.compile'd cells on the CPU too")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile'd cells")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = resolve_device(args.device)
    cells = [c for c in args.cells.split(",") if c]
    batch, steps = args.batch, args.steps
    compile_cells = not args.no_compile and (device.type == "cuda" or args.compile)
    print(f"device {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f", torch {torch.__version__}; batch {batch}, steps {steps}, input {args.input_size}, "
          f"hidden {args.hidden_size}; forward + backward; {args.iters} iterations after {args.warmup} warm-up")
    if not compile_cells and not args.no_compile:
        print("torch.compile'd cells skipped on the CPU (compiling the unrolled loop takes minutes); --compile "
              "times them anyway")

    anchor_name = "x cuDNN LSTM" if device.type == "cuda" else "x torch LSTM"
    header = f"{'model':<28} {'dtype':<5} {'ms/iter':>10} {'tokens/s':>12} {anchor_name:>13}"
    print(header)
    print("-" * len(header))
    for dtype_name in args.dtypes.split(","):
        dtype = DTYPES[dtype_name]
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(steps, batch, args.input_size, generator=gen).to(device, dtype).requires_grad_()
        grad = torch.randn(steps, batch, args.hidden_size, generator=gen).to(device, dtype)
        fused = " (cuDNN)" if device.type == "cuda" else ""
        rows: list[tuple[str, Callable[[], torch.nn.Module]]] = [
            (f"torch.nn.LSTM{fused}", lambda: torch.nn.LSTM(args.input_size, args.hidden_size)),
            (f"torch.nn.GRU{fused}", lambda: torch.nn.GRU(args.input_size, args.hidden_size)),
        ]
        for cell in cells:
            rows.append((f"seqlab {cell}", lambda cell=cell: RNN(cell, args.input_size, args.hidden_size)))
        for cell in cells:
            rows.append((f"eager {cell}",
                         lambda cell=cell: RNN(cell, args.input_size, args.hidden_size, backend="reference")))
        if compile_cells:
            for cell in cells:
                rows.append((f"compiled {cell}", lambda cell=cell: torch.compile(
                    RNN(cell, args.input_size, args.hidden_size, backend="reference"))))
        anchor = None
        for name, make in rows:
            torch.manual_seed(0)
            module = make().to(device, dtype)
            if name.startswith("seqlab "):
                name += f" [{module.resolved_backend(device)}]"
            try:
                seconds = time_step(forward_backward(module, x, grad), device, args.iters, args.warmup)
            except RuntimeError as err:  # e.g. an op without a bf16 kernel on this device
                print(f"{name:<28} {dtype_name:<5} failed: {str(err).splitlines()[0][:80]}")
                continue
            if name.startswith("torch.nn.LSTM"):
                anchor = seconds
            ratio = f"{seconds / anchor:13.2f}" if anchor else f"{'-':>13}"
            print(f"{name:<28} {dtype_name:<5} {seconds * 1e3:10.3f} {batch * steps / seconds:12,.0f} {ratio}",
                  flush=True)


if __name__ == "__main__":
    main()
