"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository (the CI data folder); skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (a fresh clone): these tests run in CI")
    return SHARED_DATA


@pytest.fixture
def progress_bars(monkeypatch):
    """Progress bars drawn although stderr is captured (not a terminal, where they are off by default)."""
    monkeypatch.setenv("SEQLAB_PROGRESS", "1")


@pytest.fixture
def one_thread():
    """Run a test with one intra-op thread: two threads on two shared, busy cores make small
    training steps many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _cooccurrence_score(kv, data, window: int = 2, n: int = 4000) -> float:
    rng = np.random.default_rng(0)
    centred = kv.vectors.double() - kv.vectors.double().mean(0)
    unit = centred / centred.norm(dim=1, keepdim=True)
    pos = rng.integers(0, len(data.ids) - window, n)
    near_a, near_b = data.ids[pos], data.ids[pos + rng.integers(1, window + 1, n)]
    rand_a, rand_b = rng.integers(0, len(kv), n), rng.integers(0, len(kv), n)
    near = (unit[near_a] * unit[near_b]).sum(1).mean().item()
    rand = (unit[rand_a] * unit[rand_b]).sum(1).mean().item()
    return near - rand


@pytest.fixture
def cooccurrence_score():
    """score(kv, encoded_corpus, window=2, n=4000): mean cosine of words that occur within
    ``window`` of each other minus that of random word pairs, after centring the vectors.

    Centring removes the common direction that all trained vectors share (which alone makes every
    cosine large); random vectors score 0 +- 0.003 (a mean of 4000 cosines in 50 dimensions).
    """
    return _cooccurrence_score
