"""Templated negation and contrast phrases for binary sentiment training (data augmentation).

SST-2's training sentences hold almost no short negated phrases ("not good" twice), so a model
trained on them alone reads "not bad" as negative. :func:`negation_phrases` writes short labelled
phrases from the templates and word lists below. Each template says how its label follows from the
polarity of the words it is filled with (``flip``: the negation turns it round, ``same``: it keeps
it, ``last``: after "but", "though" and the like the last clause decides), or has a label of its own
(the idioms at the end, added for the errors left on the negation dev suite). A phrase draws its
template uniformly, then the polarity of its first word, then each word, from a seeded generator:
the same ``(count, seed)`` gives the same phrases.

The adjectives and verbs were chosen to be disjoint from the words of the labelled negation suites
in ``tests/data`` (the test suite and the dev suite that chose the settings), so those suites measure
whether the model carries the patterns over to words it never saw in a template;
``tests/sentiment/test_augment.py`` checks that, and that no suite sentence is a run of words
inside any phrase the templates can make.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

POSITIVE = ("delightful", "gripping", "fresh", "touching", "impressive", "witty", "compelling", "terrific",
            "powerful", "likable", "inventive", "thoughtful", "magnificent", "hilarious", "riveting", "gorgeous",
            "stunning", "heartfelt", "refreshing", "intelligent", "splendid", "fantastic", "outstanding",
            "fascinating", "captivating", "marvelous", "sublime", "masterful", "breathtaking", "heartwarming",
            "absorbing", "enthralling", "poignant", "dazzling", "vibrant", "endearing", "exquisite", "rousing")
NEGATIVE = ("bland", "pointless", "stupid", "lame", "painful", "tiresome", "annoying", "disappointing",
            "pretentious", "mediocre", "uninspired", "sloppy", "dreadful", "horrible", "unwatchable", "incoherent",
            "dreary", "ugly", "amateurish", "unfunny", "sluggish", "monotonous", "irritating", "ridiculous",
            "lousy", "pathetic", "insipid", "wretched", "abysmal", "atrocious", "idiotic", "clunky", "overlong",
            "contrived", "plodding", "muddled", "joyless", "vapid", "inane", "derivative", "hackneyed", "grating")
SUBJECTS = ("the film", "the movie", "this film", "this movie", "the story", "the plot", "the acting", "the script",
            "the ending", "the cast", "the direction", "the dialogue", "it", "the whole thing", "the sequel",
            "the soundtrack", "the lead", "the premise")
NOUNS = ("film", "movie", "story", "comedy", "drama", "thriller", "performance", "script", "ride", "picture")
LIKE = ("adore", "admire", "appreciate", "cherish")  # verbs: present, and past below
LIKED = ("adored", "admired", "appreciated", "cherished")
HATE = ("dislike", "despise", "loathe", "detest")
HATED = ("disliked", "despised", "loathed", "detested")
WORTH = ("seeing", "a look", "the effort", "renting", "the admission", "a second viewing")
PARTS = ("the score", "the cast", "the editing", "the photography", "the costumes", "the supporting cast", "its star")

# (template, rule): {a} and {b} are adjectives of opposite polarity, {v} (like / hate) a verb of {a}'s polarity and
# {w} (liked / hated) one of {b}'s, {s} and {t} subjects, {n} a noun. The label is the polarity of {a} (same),
# its opposite (flip), or the polarity of {b} and {w} (last). Idioms have a label of their own (negative,
# positive); in them {p} is a positive adjective, {q} a negative one, {x} what a film is (not) worth, {r} a part of it.
TEMPLATES = (
    ("not {a}", "flip"), ("not {a} at all", "flip"), ("{s} is not {a}", "flip"), ("{s} was not {a}", "flip"),
    ("{s} is n't {a}", "flip"), ("{s} was n't {a}", "flip"), ("never {a}", "flip"), ("{s} is never {a}", "flip"),
    ("{s} was never {a}", "flip"), ("not a {a} {n}", "flip"), ("hardly {a}", "flip"),
    ("not {a} in the least", "flip"), ("nothing {a} about it", "flip"), ("{s} is not really {a}", "flip"),
    ("{s} never feels {a}", "flip"), ("i did not {v} it", "flip"), ("i did n't {v} it", "flip"),
    ("i do n't {v} it", "flip"), ("i would not {v} it", "flip"),
    ("{a}", "same"), ("really {a}", "same"), ("{s} is {a}", "same"), ("{s} was {a}", "same"),
    ("a {a} {n}", "same"), ("{s} is very {a}", "same"), ("i {v} it", "same"), ("{s} is {a} , really {a}", "same"),
    ("{a} but {b}", "last"), ("{a} , but {b}", "last"), ("{s} is {a} but {t} is {b}", "last"),
    ("{a} at first but {b} in the end", "last"), ("although {s} is {a} , it is {b}", "last"),
    ("{s} is {a} , though {b}", "last"), ("a {a} start but a {b} finish", "last"),
    ("i expected to {v} it and i {w} it", "last"), ("i thought it would be {a} , but it turned out {b}", "last"),
    ("not {a} , but {b}", "last"), ("{s} is not {a} , it is {b}", "last"),
    ("far from {a}", "flip"), ("{s} is far from {a}", "flip"), ("no {a} moments", "flip"),
    ("there are no {a} scenes", "flip"), ("nothing less than {a}", "same"), ("it is hard not to {v} it", "same"),
    ("i did n't expect to {v} it , but i did", "same"), ("i never thought i would {v} it , but i did", "same"),
    ("not worth {x}", "negative"), ("{s} is not worth {x}", "negative"), ("well worth {x}", "positive"),
    ("{s} is worth {x}", "positive"), ("not too {a}", "flip"), ("{s} is not too {a}", "flip"),
    ("i would never sit through it again", "negative"), ("i would gladly sit through it again", "positive"),
    ("{s} could have been {p}", "negative"), ("{s} could have been {q} , but it is {p}", "positive"),
    ("the original is far better", "negative"), ("{s} is far better than the original", "positive"),
    ("not even {r} can rescue it", "negative"), ("even {r} is {p}", "positive"),
    ("i had my doubts , but it proved me wrong", "positive"), ("i had high hopes , but it let me down", "negative"),
    ("i could n't stop laughing", "positive"), ("i could n't stop yawning", "negative"),
    ("{s} never fails to amuse", "positive"), ("{s} never manages to amuse", "negative"),
    ("i did n't care for {r}", "negative"), ("i cared about {r}", "positive"),
)


@dataclass(frozen=True)
class Phrase:
    """One generated phrase (tokenised like SST) and its label (0 negative, 1 positive)."""

    text: str
    label: int


def _slots(template: str, positive: bool) -> dict[str, tuple[str, ...]]:
    """The words each slot of ``template`` may take when its first adjective (or verb) is ``positive``."""
    first, second = (POSITIVE, NEGATIVE) if positive else (NEGATIVE, POSITIVE)
    slots = {"a": first, "b": second, "s": SUBJECTS, "t": SUBJECTS, "n": NOUNS,
             "v": LIKE if positive else HATE, "w": HATED if positive else LIKED, "x": WORTH, "r": PARTS,
             "p": POSITIVE, "q": NEGATIVE}
    return {key: words for key, words in slots.items() if "{" + key + "}" in template}


def _label(rule: str, positive: bool) -> int:
    """The label of a phrase of ``rule`` whose first adjective or verb is ``positive``."""
    if rule in ("negative", "positive"):
        return int(rule == "positive")
    return int(positive if rule == "same" else not positive)


def negation_phrases(count: int, seed: int = 1) -> list[Phrase]:
    """``count`` labelled phrases: a template drawn uniformly from :data:`TEMPLATES`, the polarity of its
    first word positive or negative with probability 1/2, then each slot's word uniformly."""
    rng = random.Random(seed)
    phrases = []
    for _ in range(count):
        template, rule = rng.choice(TEMPLATES)
        positive = rng.random() < 0.5
        words = {key: rng.choice(options) for key, options in _slots(template, positive).items()}
        phrases.append(Phrase(template.format(**words), _label(rule, positive)))
    return phrases


def all_phrases() -> Iterator[Phrase]:
    """Every phrase the templates can make (each choice of words): for the disjointness checks."""
    for template, rule in TEMPLATES:
        for positive in (True, False):
            slots = _slots(template, positive)
            for words in itertools.product(*slots.values()):
                yield Phrase(template.format(**dict(zip(slots, words, strict=True))), _label(rule, positive))
