"""Interrupting a training run from a test, as Ctrl-C would, right after one of its checkpoints.

Every :class:`seqlab.training.BudgetLoop` calls ``after_checkpoint`` once a checkpoint is written (a
no-op in production); :func:`interrupt_after` replaces it for the duration of a ``with`` block. Give
the run a checkpoint at every block (``checkpoint_words = 1``, ``checkpoint_entries = 1``,
``checkpoint_minutes = 1e-9``) for it to stop at the first block past ``units``.

Imported as a plain module (pytest puts ``tests/``, the folder of the top conftest, on ``sys.path``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from seqlab.training import BudgetLoop


@contextlib.contextmanager
def interrupt_after(units: int = 0, checkpoints: int = 1) -> Iterator[list[int]]:
    """Inside the block, a BudgetLoop raises KeyboardInterrupt after the first checkpoint written once
    ``units`` of its budget are done and at least ``checkpoints`` checkpoints were written; yields the
    list of the units done at each checkpoint."""
    written: list[int] = []

    def after_checkpoint(loop: BudgetLoop) -> None:
        written.append(loop.done)
        if loop.done >= units and len(written) >= checkpoints:
            raise KeyboardInterrupt

    original = BudgetLoop.after_checkpoint
    BudgetLoop.after_checkpoint = after_checkpoint
    try:
        yield written
    finally:
        BudgetLoop.after_checkpoint = original
