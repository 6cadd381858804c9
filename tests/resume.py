"""Checking that an :class:`seqlab.training.EpochTrainer` resumes mid-epoch exactly, the same way for every
trainer: run some steps as the epoch loop does, save ``last.safetensors``, take a few more steps, then load
the checkpoint into a fresh trainer and compare.

Imported as a plain module (pytest puts ``tests/``, the folder of the top conftest, on ``sys.path``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from seqlab.io import load_checkpoint


def assert_resumes_exactly(first: Any, make_second: Callable[[dict], Any], stop: int, until: int) -> Any:
    """Step ``first`` through its epoch's batches ``[:stop]``, save its last checkpoint (into ``first.out``,
    which must not exist yet), note its losses on ``[stop:until]``; a trainer from ``make_second(state)``
    that loads the checkpoint must see the same batches and position, give the same losses and end with
    the same weights. Returns the second trainer, for checks of its own (a moving average, ...)."""
    batches = first.epoch_batches()
    for batch in batches[:stop]:
        first.step(batch)
        first.position += 1
    first.out.mkdir()
    first.save_last()
    expected = [first.step(batch) for batch in batches[stop:until]]
    state = load_checkpoint(first.out / first.last_file)
    second = make_second(state)
    second.load_state(state)
    assert second.epoch_batches() == batches and second.position == stop
    assert [second.step(batch) for batch in batches[stop:until]] == expected
    for (name, p), q in zip(first.model.state_dict().items(), second.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    return second
