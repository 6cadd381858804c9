"""Devices, threads and seeded generators: the one place that turns ``--device auto|cpu|cuda`` into a
torch.device and ``--threads N`` into torch's thread count.

torch is imported by the functions that need it, not by this module, so that the command line can name
its choices (and a query on the CPU can run) without paying for torch's import.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from seqlab.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")
# device files an NVIDIA driver makes; without them torch.cuda.is_available() is False
_NVIDIA_NODES = ("/dev/nvidiactl", "/dev/nvidia0")


def machine_cores() -> int:
    """The CPU cores this process may run on (its affinity, not the machine's count where they differ)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def set_threads(threads: int | None) -> None:
    """Compute on ``threads`` CPU threads (None: torch's default, the machine's cores).

    Also sets ``OMP_NUM_THREADS`` so that a torch imported later, and the BLAS of child processes,
    start with the same count.
    """
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"--threads {threads}: expected 1 or more")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def cuda_possible() -> bool:
    """Whether ``--device auto`` could mean CUDA here, answered without importing torch when it cannot:
    no NVIDIA device files means no CUDA (a container without GPUs, a laptop); otherwise torch decides."""
    if "torch" not in sys.modules and not any(os.path.exists(node) for node in _NVIDIA_NODES):
        return False
    import torch

    return torch.cuda.is_available()


def runs_on_cpu(name: str) -> bool:
    """Whether ``--device name`` means the CPU here (``cpu``, or ``auto`` without CUDA), so that a command
    with a numpy or pure-Python CPU path can take it without importing torch."""
    name = (name or "auto").strip().lower()
    return name == "cpu" or (name == "auto" and not cuda_possible())


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return the torch.device for ``auto`` (cuda when available), ``cpu``, ``cuda`` or ``cuda:N``."""
    import torch

    if isinstance(name, torch.device):
        return name
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: CUDA is not available on this machine; use --device cpu or auto")
        return torch.device(name)
    raise ConfigError(f"--device {name!r}: expected one of auto, cpu, cuda")


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A torch.Generator on ``device`` seeded with ``seed`` (no global RNG state is touched)."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX through oneDNN); without it,
    bfloat16 autocast on the CPU is emulated and slower than float32."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels on ``device`` (before reading a clock)."""
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)
