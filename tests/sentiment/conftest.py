"""Constructed datasets for the sentiment tests (no files from ../shared/data needed)."""

from __future__ import annotations

import random

import pytest

POSITIVE = ["good", "great", "fine", "nice", "superb", "lovely"]
NEGATIVE = ["bad", "awful", "poor", "dull", "boring", "weak"]
FILLER = ["the", "movie", "was", "a", "plot", "really", "film", "story", "and", "quite", "it", "acting"]


def negation_data(n: int, seed: int) -> tuple[list[list[str]], list[int]]:
    """Sentences with one adjective and one "not"; "not" right before the adjective flips its polarity,
    anywhere else it changes nothing. Both labels have the same bags of words, so only order tells them
    apart."""
    rng = random.Random(seed)
    tokens, labels = [], []
    for _ in range(n):
        positive = rng.random() < 0.5
        adjective = rng.choice(POSITIVE if positive else NEGATIVE)
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 6))]
        words.insert(rng.randint(0, len(words)), adjective)
        at = words.index(adjective)
        negated = rng.random() < 0.5
        if negated:
            words.insert(at, "not")
        else:  # "not" somewhere not directly before the adjective
            spots = [i for i in range(len(words) + 1) if i != at]
            words.insert(rng.choice(spots), "not")
        tokens.append(words)
        labels.append(int(positive != negated))
    return tokens, labels


@pytest.fixture(name="negation_data")
def negation_data_fixture():
    """The :func:`negation_data` maker."""
    return negation_data
