"""How much memory this machine has left, and a refusal for models that cannot fit in it.

A model asked for with absurd sizes (``hidden_size = 10000000``) would fail deep inside torch with
"can't allocate memory", or get the process killed. Its parameter count is known from the config
before anything is allocated, so it is checked against ``MemAvailable`` of ``/proc/meminfo`` (Linux's
estimate of what can be allocated without swapping) and refused with both figures.
"""

from __future__ import annotations

from pathlib import Path

from seqlab.errors import ConfigError

MEMINFO = Path("/proc/meminfo")
_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def available_memory_bytes() -> int | None:
    """Bytes that can be allocated now (``MemAvailable``), or None where that cannot be known."""
    try:
        text = MEMINFO.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "MemAvailable":
            number, _, unit = value.strip().partition(" ")
            try:
                return int(number) * (1024 if unit.strip() == "kB" else 1)
            except ValueError:
                return None
    return None


def format_bytes(size: float) -> str:
    """``1536`` -> ``1.5 KiB``; binary units, three significant digits."""
    value, unit = float(size), 0
    while abs(value) >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{int(value)} bytes" if unit == 0 else f"{value:.3g} {_UNITS[unit]}"


def check_fits(needed: int, what: str, available: int | None = None) -> None:
    """ConfigError when ``needed`` bytes are more than the memory available (``available``, or this
    machine's); ``what`` names the thing in the message. Nothing is checked where the figure is unknown."""
    available = available_memory_bytes() if available is None else available
    if available is not None and needed > available:
        raise ConfigError(f"{what} needs at least {format_bytes(needed)} of memory, but only "
                          f"{format_bytes(available)} is available: choose smaller sizes")
