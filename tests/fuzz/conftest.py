"""The fuzz suite's hypothesis profiles: every reader gets random and hostile input, and each example must
end in a result or a :class:`seqlab.errors.SeqlabError` (for the CLI: exit status 0 or 2, no traceback).

By default each reader gets ``DEFAULT_EXAMPLES`` examples (the slow ones, which run a command end to end,
a quarter of that), drawn the same way on every run (``derandomize``), and nothing is written to a
``.hypothesis`` database. The environment changes that:

- ``SEQLAB_FUZZ_EXAMPLES=5000``: examples per reader (a longer hunt);
- ``SEQLAB_FUZZ_SEED=random``: new examples on every run; ``SEQLAB_FUZZ_SEED=1234``: the examples of
  that seed (``pytest --hypothesis-seed=1234`` does the same).

The profiles are applied by the fuzz tests themselves (``@settings(settings.get_profile(FUZZ))``), so
loading them changes nothing for other hypothesis tests.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, seed, settings

DEFAULT_EXAMPLES = 150
FUZZ, FUZZ_SLOW = "seqlab-fuzz", "seqlab-fuzz-slow"


def _examples() -> int:
    value = os.environ.get("SEQLAB_FUZZ_EXAMPLES", "").strip()
    try:
        examples = int(value) if value else DEFAULT_EXAMPLES
    except ValueError:
        raise pytest.UsageError(f"SEQLAB_FUZZ_EXAMPLES={value!r}: expected a number of examples") from None
    if examples < 1:
        raise pytest.UsageError(f"SEQLAB_FUZZ_EXAMPLES={value!r}: expected at least 1")
    return examples


def _seed() -> int | None:
    """The seed asked for (None: derandomized or random examples)."""
    value = os.environ.get("SEQLAB_FUZZ_SEED", "").strip()
    if value in ("", "random"):
        return None
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"SEQLAB_FUZZ_SEED={value!r}: expected an integer or 'random'") from None


def pytest_configure() -> None:
    """Register the profiles (before the fuzz modules are imported: they apply them as decorators)."""
    common = dict(
        derandomize=not os.environ.get("SEQLAB_FUZZ_SEED", "").strip(),
        database=None,  # no .hypothesis folder in the repository; a failure prints its reproducing example
        deadline=timedelta(seconds=5),  # per example: generous for a slow, shared 2-core CI machine
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                               HealthCheck.function_scoped_fixture],
        print_blob=True,
    )
    examples = _examples()
    settings.register_profile(FUZZ, max_examples=examples, **common)
    settings.register_profile(FUZZ_SLOW, max_examples=max(1, examples // 4), **common)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A directory for a module's example files (each example replaces the previous one's). Not under pytest's
    own temporary directory, which a concurrent pytest session may remove during a long hunt."""
    with tempfile.TemporaryDirectory(prefix="seqlab-fuzz-") as name:
        yield Path(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply ``SEQLAB_FUZZ_SEED=N`` to the fuzz tests (hypothesis's own ``seed`` decorator)."""
    number = _seed()
    if number is None:
        return
    here = Path(__file__).parent
    for item in items:
        test = getattr(item, "obj", None)
        if here in item.path.parents and hasattr(test, "hypothesis"):  # a @given test of this folder
            seed(number)(test)
