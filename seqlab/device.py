"""Devices and seeded generators: the one place that turns ``--device auto|cpu|cuda`` into a torch.device."""

from __future__ import annotations

import torch

from seqlab.errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return the torch.device for ``auto`` (cuda when available), ``cpu``, ``cuda`` or ``cuda:N``."""
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
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX through oneDNN); without it,
    bfloat16 autocast on the CPU is emulated and slower than float32."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels on ``device`` (before reading a clock)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
