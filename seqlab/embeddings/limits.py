"""Bounds on the settings of the embedding trainers (word2vec, GloVe), and the memory of their tables.

A mistyped or hostile setting must fail at once with its reason, not after hours or in the kernel's
OOM killer: ``--window 100000`` made 200,000 context slots per centre word (killed), ``--negative
10000`` 2,000 times the default work per pair (ran for days), ``--dim 98000000`` asked for terabytes.
The bounds below are far above every published setting (Mikolov et al. 2013: window 5-10, 2-20
negatives; Pennington et al. 2014: window 10, up to 100 epochs) and each message says why it exists.
The tables' memory depends on the vocabulary, so it is checked once the vocabulary is built, before
anything is allocated, together with the largest working memory a setting asks for: :func:`check_fits`.
"""

from __future__ import annotations

import math

import torch

from seqlab.errors import ConfigError
from seqlab.memory import available_memory_bytes, format_bytes

MAX_WINDOW = 1_000  # word2vec.c reads at most 1,000 words at a time, so no window of it spans more
MAX_NEGATIVE = 100
MAX_EPOCHS = 10_000
MAX_SENTENCE_WORDS = 1_000_000  # a sentence is a list of words in memory; glove's default cut
MAX_SEED = 2**40 - 1  # the epoch generators are seeded with seed * 100,003 + epoch: 64 bits
MAX_BUCKET = 2**32  # fastText hashes n-grams to 32 bits: more buckets could never be used


def finite(**numbers: float) -> list[tuple[bool, str]]:
    """Checks that each number is finite (first, so that no comparison meets a NaN)."""
    return [(math.isfinite(value), f"{name} must be a finite number, got {value}") for name, value in numbers.items()]


def at_most(name: str, value: float, limit: float, why: str) -> tuple[bool, str]:
    return value <= limit, f"{name} must be at most {limit:,}, got {value:,} ({why})"


def shared_checks(config) -> list[tuple[bool, str]]:
    """The checks of the settings word2vec and GloVe share (window, epochs, seed, ...)."""
    c = config
    return [
        (c.dim >= 1, "dim must be at least 1"),
        (c.window >= 1, "window must be at least 1"),
        at_most("window", c.window, MAX_WINDOW, "every centre word gets 2 x window context slots, and a window "
                "spans one sentence; published settings use 2-15"),
        (c.epochs >= 1, "epochs must be at least 1"),
        at_most("epochs", c.epochs, MAX_EPOCHS, "each epoch is a full pass over the data; published settings "
                "use 1-100"),
        (c.min_count >= 1, "min_count must be at least 1"),
        (c.max_vocab >= 0, "max_vocab must be >= 0"),
        (c.batch_size >= 0, "batch_size must be >= 0"),
        (c.max_sentence_length >= 1, "max_sentence_length must be at least 1"),
        at_most("max_sentence_length", c.max_sentence_length, MAX_SENTENCE_WORDS, "a sentence is held in memory "
                "as a list of words; longer lines are cut into pieces of this many words anyway"),
        (abs(c.seed) <= MAX_SEED, f"seed must be between -{MAX_SEED:,} and {MAX_SEED:,}, got {c.seed:,} (each "
         "epoch's generator is seeded with seed x 100,003 + epoch, which must fit in 64 bits)"),
        (c.checkpoint_minutes >= 0, "checkpoint_minutes must be >= 0 (0: no timed checkpoints)"),
    ]


def available_bytes(device: torch.device) -> int | None:
    """Memory that can be allocated now on ``device`` (free GPU memory, or the system's
    MemAvailable); None where it cannot be known."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return available_memory_bytes()


TABLE_HINT = "lower --dim or --max-vocab (or raise --min-count)"


def tables(dim: int, vocab_size: int, count: int, what: str) -> tuple[int, str, str]:
    """The memory part of ``count`` float32 (vocab_size, dim) tables (``what`` says which), for :func:`check_fits`."""
    return (4 * dim * vocab_size * count,
            f"dim {dim:,} x vocabulary {vocab_size:,} x {count} tables ({what}) x 4 bytes", TABLE_HINT)


def check_fits(parts: list[tuple[int, str, str]], device: torch.device) -> None:
    """ConfigError when the parts (bytes, how the figure is made, which settings lower it) need more
    memory than ``device`` has available; nothing is checked where that cannot be known.

    The message shows each part of at least 1% of the total with its formula, and the settings that
    lower the largest. The figures are lower bounds of what training needs (the corpus buffers and
    smaller temporaries come on top), so a refusal is always right, and a run that passes may
    still be tight.
    """
    needed = sum(size for size, _, _ in parts)
    available = available_bytes(device)
    if available is None or needed <= available:
        return
    shown = " + ".join(f"{how} = {format_bytes(size)}" for size, how, _ in parts if size * 100 >= needed)
    on = f" on {device}" if device.type == "cuda" else ""
    raise ConfigError(f"{shown}, more than the {format_bytes(available)} of memory available{on}; "
                      f"{max(parts)[2]}")
