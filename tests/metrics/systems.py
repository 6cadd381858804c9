"""Systems for the metric tests: reference lines with words dropped (at ``rate``) and neighbours swapped."""

from __future__ import annotations

import random


def damaged(lines: list[str], rng: random.Random, rate: float) -> list[str]:
    out = []
    for line in lines:
        words = [w for w in line.split() if rng.random() > rate]
        if len(words) > 2 and rng.random() < 0.5:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        out.append(" ".join(words))
    return out
