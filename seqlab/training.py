"""Helpers every training loop shares: a progress bar on stderr and a checkpoint clock."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm


def progress_bar(total: int, desc: str, unit: str, quiet: bool = False, initial: int = 0) -> tqdm:
    """A tqdm bar on stderr (disabled when ``quiet``), with SI-scaled rates such as ``words/s``."""
    return tqdm(total=total or None, initial=initial, desc=desc, unit=unit, unit_scale=True, disable=quiet,
                file=sys.stderr, dynamic_ncols=True, mininterval=0.5, smoothing=0.1)


class CheckpointClock:
    """Says when a checkpoint is due: every ``minutes`` of wall time or ``units`` of work (0 = never)."""

    def __init__(self, minutes: float = 0.0, units: int = 0, done: int = 0) -> None:
        self.seconds = minutes * 60.0
        self.units = units
        self._last_time = time.monotonic()
        self._last_units = done

    def due(self, done: int) -> bool:
        now = time.monotonic()
        if (self.seconds > 0 and now - self._last_time >= self.seconds) or (
            self.units > 0 and done - self._last_units >= self.units
        ):
            self._last_time, self._last_units = now, done
            return True
        return False


def set_postfix(bar: tqdm, **values: Any) -> None:
    """Show ``values`` after the bar, floats in short form."""
    bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in values.items()}, refresh=False)


def load_training_state(path: str | os.PathLike, kind: str, what: str) -> dict[str, Any]:
    """The training checkpoint ``path`` (``last.pt``) for ``--resume``, checked to be of ``kind``."""
    from seqlab.errors import DataError
    from seqlab.io import load_checkpoint

    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no checkpoint to resume from")
    state = load_checkpoint(p)
    if state.get("kind") != kind:
        raise DataError(f"{p}: not a {what} training checkpoint")
    return state


def check_same_architecture(same: bool, path: str | os.PathLike) -> None:
    """Refuse to resume ``path`` with settings that change the model's shape."""
    if not same:
        from seqlab.errors import ConfigError

        p = Path(path)
        raise ConfigError(f"{p}: was trained with a different architecture; resume with its settings "
                          f"(see {p.parent / 'config.toml'})")
