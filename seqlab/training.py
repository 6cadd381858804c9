"""Helpers every training loop shares: a progress bar on stderr, a checkpoint clock, weight averaging."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
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


class WeightAverage:
    """An exponential moving average of a model's trainable parameters (Polyak & Juditsky 1992).

    After each optimiser step, :meth:`update` moves every average towards its parameter:
    ``avg <- d * avg + (1 - d) * p`` with ``d = min(decay, (1 + t) / (10 + t))`` at update ``t``
    (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``: the early averages do not drag
    the initial weights along). Inside ``with average.applied():`` the model holds the averages (to
    validate or save them); on leaving it gets its own weights back. Buffers are not averaged.
    Not torch's ``swa_utils.AveragedModel``: that deep-copies the whole module, buffers included
    (a sentiment model's fixed vector rows can be hundreds of MB), and has no such warm-up.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        weight = 1.0 - min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], weight)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The model holds the averaged weights inside the block (swapped in place, no copies)."""
        self._swap()
        try:
            yield
        finally:
            self._swap()

    @torch.no_grad()
    def _swap(self) -> None:
        for p, s in zip(self.params, self.shadow, strict=True):
            p.data, s.data = s.data, p.data

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "shadow": [s.detach().cpu() for s in self.shadow]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError("weight average of a different model")
        self.updates = state["updates"]
        with torch.no_grad():
            for s, saved in zip(self.shadow, state["shadow"], strict=True):
                s.copy_(saved)
