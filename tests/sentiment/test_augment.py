"""Templated negation/contrast phrases (seqlab.sentiment.augment) and the labelled negation suites in
tests/data: balanced, apart from each other, and out of the templates' reach."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from seqlab.config import build_config
from seqlab.errors import ConfigError
from seqlab.sentiment import augment
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.data import label_names, read_examples, tokenize
from seqlab.sentiment.train import load_splits

SUITES = Path(__file__).resolve().parents[1] / "data"
TEST_SUITE, DEV_SUITE = SUITES / "sentiment_negation.tsv", SUITES / "sentiment_negation_dev.tsv"


def suite(path: Path) -> list[tuple[str, str]]:
    rows = [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return [(label, text) for label, text in rows]


@pytest.fixture(scope="module")
def made_phrases() -> tuple[str, dict[str, int]]:
    """Every phrase the templates can make, one a line with a space either side, and the labels of a few."""
    wanted = {"not lame", "never witty", "the plot is not really sloppy", "i did n't admire it",
              "clunky at first but riveting in the end", "i expected to despise it and i adored it",
              "far from inane", "i could n't stop yawning", "not worth renting"}
    lines, labels = [], {}
    for phrase in augment.all_phrases():
        lines.append(f" {phrase.text} ")
        if phrase.text in wanted:
            labels[phrase.text] = phrase.label
    return "\n".join(lines), labels


def test_phrases_are_labelled_by_their_template(made_phrases):
    assert augment.negation_phrases(500, seed=3) == augment.negation_phrases(500, seed=3)
    assert augment.negation_phrases(50, seed=3) != augment.negation_phrases(50, seed=4)
    for phrase in augment.negation_phrases(2000, seed=1):
        words = phrase.text.split()
        if "worth" in words:  # "not worth seeing" negative, "well worth a look" positive
            assert phrase.label == int(words[words.index("worth") - 1] != "not"), phrase
            continue
        negative = [w for w in words if w in augment.NEGATIVE + augment.HATE + augment.HATED]
        short = len(words) <= 4 and "but" not in words
        if short and phrase.text.startswith(("not ", "never ", "hardly ", "far from ")):
            assert phrase.label == int(bool(negative)), phrase  # "not lame" positive, "never witty" negative
        if " but " in phrase.text and not phrase.text.startswith(("not ", "i ")):
            last = [w for w in words if w in augment.POSITIVE + augment.NEGATIVE][-1]
            assert phrase.label == int(last in augment.POSITIVE), phrase  # the clause after "but" decides
    hand = {"not lame": 1, "never witty": 0, "the plot is not really sloppy": 1, "i did n't admire it": 0,
            "clunky at first but riveting in the end": 1, "i expected to despise it and i adored it": 1,
            "far from inane": 1, "i could n't stop yawning": 0, "not worth renting": 0}
    assert {text: label for text, label in made_phrases[1].items() if text in hand} == hand
    counts = Counter(p.label for p in augment.negation_phrases(4000, seed=1))
    assert abs(counts[0] - counts[1]) < 200


@pytest.mark.parametrize("path", [TEST_SUITE, DEV_SUITE])
def test_negation_suites_are_balanced_lowercase_and_readable(path):
    rows = suite(path)
    assert len(rows) >= (100 if path == TEST_SUITE else 80)
    assert Counter(label for label, _ in rows) == {"negative": len(rows) // 2, "positive": len(rows) // 2}
    assert all(text == text.lower() and text.strip() == text for _, text in rows)
    assert len({text for _, text in rows}) == len(rows)
    assert len(read_examples(path, label_names(2))) == len(rows)


def test_the_dev_suite_shares_no_sentence_with_the_test_suite():
    assert not {text for _, text in suite(TEST_SUITE)} & {text for _, text in suite(DEV_SUITE)}


@pytest.mark.parametrize("path", [TEST_SUITE, DEV_SUITE])
def test_templates_never_make_a_suite_sentence(path, made_phrases):
    """No suite sentence is a phrase the templates can make, or a run of words inside one; no adjective
    or verb of the word lists occurs in a suite."""
    sentences = [" ".join(tokenize(text)) for _, text in suite(path)]
    assert not [s for s in sentences if f" {s} " in made_phrases[0]]
    polar = set(augment.POSITIVE + augment.NEGATIVE + augment.LIKE + augment.LIKED + augment.HATE + augment.HATED)
    assert not polar & {word for s in sentences for word in s.split()}


def test_phrases_join_the_training_split_only(tmp_path):
    (tmp_path / "train.tsv").write_text("".join(f"{i % 2}\tsentence number {i}\n" for i in range(40)))
    cfg = build_config(SentimentConfig, None, train=str(tmp_path / "train.tsv"), dev="", test="", num_classes=2,
                       augment=25)
    splits = load_splits(cfg)
    assert len(splits.train) == 36 + 25 and len(splits.dev) == 4  # dev: 10% of the file's 40 sentences
    assert all(line > 0 for line in splits.dev.lines) and splits.train.lines[-25:] == [0] * 25
    assert [" ".join(t) for t in splits.train.tokens[-25:]] == [p.text for p in augment.negation_phrases(25, 1)]
    with pytest.raises(ConfigError, match="augment needs num_classes = 2"):
        build_config(SentimentConfig, None, train="x.tsv", num_classes=5, augment=10)
