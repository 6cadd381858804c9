"""Progress bars on stderr and the checkpoint clock: what long work shows and when it saves, without torch
(so that commands that do not train, such as ``seqlab embed phrases``, start without importing it)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from tqdm.auto import tqdm

PROGRESS_VARIABLE = "SEQLAB_PROGRESS"


def progress_bar(total: int, desc: str, unit: str, quiet: bool = False, initial: int = 0) -> tqdm:
    """A tqdm bar on stderr, with SI-scaled rates such as ``words/s``; shown as :func:`progress_shown` says."""
    return tqdm(total=total or None, initial=initial, desc=desc, unit=unit, unit_scale=True,
                disable=not progress_shown(quiet), file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                smoothing=0.1)


def progress_shown(quiet: bool = False) -> bool:
    """Whether a progress bar is drawn: never when ``quiet``; ``SEQLAB_PROGRESS=1`` forces bars on and ``=0``
    off; otherwise tqdm's ``disable=None`` rule, on only when stderr is a terminal (a log file or a pipe gets
    no bar), or in a notebook, where ``tqdm.auto`` draws widgets."""
    if quiet:
        return False
    value = os.environ.get(PROGRESS_VARIABLE, "").strip()
    if value in ("0", "1"):
        return value == "1"
    if value:
        from seqlab.errors import ConfigError

        raise ConfigError(f"{PROGRESS_VARIABLE}={value!r}: use 1 (progress bars on), 0 (off) or leave it unset "
                          "(on when stderr is a terminal)")
    if _notebook():
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def _notebook() -> bool:
    """Whether tqdm.auto draws notebook widgets (in Jupyter), not text on a terminal."""
    from tqdm import autonotebook, std

    return autonotebook.tqdm is not std.tqdm


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
