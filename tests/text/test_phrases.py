"""Phrases against gensim 4's ``Phrases`` on gensim's Lee corpus: the same vocabulary size, the same phrases with
the same scores, and every sentence joined the same way; words that contain the delimiter (a second pass, which
finds trigrams) keyed by their joined string as gensim keys them; bigram counting in chunks."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from gensim.models import phrases as gensim_phrases
from gensim.utils import simple_preprocess

import seqlab.text.phrases as phrases_module
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.errors import ConfigError, DataError
from seqlab.text import Phrases, PhrasesConfig
from seqlab.text.corpus import Corpus
from seqlab.text.phrases import ENGLISH_CONNECTOR_WORDS, npmi_scorer, original_scorer

ENGLISH = ENGLISH_CONNECTOR_WORDS
SETTINGS = [
    {},
    {"min_count": 1, "threshold": 1.0},
    {"min_count": 3, "threshold": 0.3, "scoring": "npmi"},
    {"min_count": 2, "threshold": -1.0, "scoring": "npmi"},
    {"min_count": 2, "threshold": 2.0, "connector_words": ENGLISH},
    {"min_count": 2, "threshold": 0.1, "scoring": "npmi", "connector_words": ENGLISH, "delimiter": "+"},
]


@pytest.fixture(scope="module")
def lee() -> list[list[str]]:
    with open(gensim_test_data("lee_background.cor"), encoding="utf-8") as fh:
        return [simple_preprocess(line) for line in fh]


def assert_same(ours: Phrases, theirs: gensim_phrases.Phrases, sentences: list[list[str]]) -> None:
    assert ours.len_vocab == len(theirs.vocab)
    assert ours.corpus_word_count == theirs.corpus_word_count
    expected, got = theirs.export_phrases(), ours.export_phrases()
    assert set(got) == set(expected)
    assert list(got.values()) == sorted(got.values(), reverse=True)
    for phrase, score in expected.items():
        assert got[phrase] == pytest.approx(score, rel=1e-9, abs=1e-9), phrase
    for sentence in sentences:
        assert ours[sentence] == theirs[sentence], sentence


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()
                                                                      if k != "connector_words") or "defaults")
def test_phrases_scores_and_joined_sentences_are_gensims(lee, settings):
    ours, theirs = Phrases(lee, **settings), gensim_phrases.Phrases(lee, **settings)
    assert_same(ours, theirs, lee)
    assert ours.export_phrases()  # every setting here finds some


@pytest.mark.parametrize("settings", [SETTINGS[1], SETTINGS[4]], ids=["plain", "connectors"])
def test_a_second_pass_keys_words_with_the_delimiter_as_gensim_does(lee, settings):
    """Phrases of phrased sentences (trigrams): ``new_york city`` and ``new york_city`` are one entry."""
    first = gensim_phrases.Phrases(lee, **settings)
    phrased = [first[s] for s in lee]
    ours, theirs = Phrases(phrased, **settings), gensim_phrases.Phrases(phrased, **settings)
    assert_same(ours, theirs, phrased)
    assert any(phrase.count("_") >= 2 for phrase in ours.export_phrases())


def test_collisions_of_joined_strings_match_gensim_on_random_corpora():
    rng = random.Random(5)
    words = ["a", "b", "c", "of", "the", "a_b", "b_c", "a_of_b", "_", "b_", "of_the", "x"]
    for _ in range(40):
        vocab = rng.sample(words, rng.randint(3, len(words)))
        sentences = [[rng.choice(vocab) for _ in range(rng.randint(1, 12))] for _ in range(rng.randint(1, 25))]
        settings = {"min_count": rng.choice([1, 2]), "threshold": rng.choice([0.01, 0.5, 2.0]),
                    "connector_words": frozenset(rng.sample(["of", "the", "of_the", "_", "x"], rng.randint(0, 3)))}
        if rng.random() < 0.4:
            settings.update(scoring="npmi", threshold=rng.choice([-0.5, 0.0, 0.3]))
        unseen = [[rng.choice([*words, "zz", "zz_a"]) for _ in range(10)] for _ in range(10)]
        assert_same(Phrases(sentences, **settings), gensim_phrases.Phrases(sentences, **settings), sentences + unseen)


def test_connector_words_join_bank_of_america_and_never_start_or_end_a_phrase():
    sentences = [["the", "bank", "of", "america", "said", "the", "bank", "of", "the", "west"]] * 4 + \
                [["bank", "of", "america", "of"], ["of", "america"], [f"w{i}" for i in range(40)]]
    ours = Phrases(sentences, min_count=1, threshold=5.0, connector_words=ENGLISH)
    theirs = gensim_phrases.Phrases(sentences, min_count=1, threshold=5.0, connector_words=ENGLISH)
    assert_same(ours, theirs, sentences)
    assert set(ours.export_phrases()) == {"america_said", "bank_of_the_west", "said_the_bank", "bank_of_america"}
    assert ours[["the", "bank", "of", "america", "of"]] == ["the", "bank_of_america", "of"]
    assert ours[["of", "the", "bank", "of", "the", "west", "of"]] == ["of", "the", "bank_of_the_west", "of"]
    plain = gensim_phrases.Phrases(sentences, min_count=1, threshold=5.0)  # "of" is a word like any other
    assert Phrases(sentences, min_count=1, threshold=5.0)[["bank", "of", "america"]] == \
        plain[["bank", "of", "america"]] == ["bank_of", "america"]


def test_the_delimiter_joins_and_greedy_reading_from_the_left():
    sentences = [["new", "york", "city"]] * 5
    ours = Phrases(sentences, min_count=1, threshold=0.1, delimiter="~")
    assert set(ours.export_phrases()) == {"new~york", "york~city"}
    assert ours[["new", "york", "city"]] == ["new~york", "city"]  # the left bigram wins; city starts afresh
    assert ours[["york", "city", "new", "york"]] == ["york~city", "new~york"]
    assert ours.apply(["new", "jersey"]) == ["new", "jersey"] and ours[[]] == []


def test_score_is_gensims_scorer_on_gensims_counts(lee):
    for settings in (SETTINGS[0], SETTINGS[2], SETTINGS[4]):
        ours, theirs = Phrases(lee, **settings), gensim_phrases.Phrases(lee, **settings)
        vocab = theirs.vocab
        for key in list(vocab)[::97]:
            parts = key.split("_")
            if len(parts) < 2:
                continue
            expected = theirs.scoring(worda_count=vocab[parts[0]], wordb_count=vocab[parts[-1]],
                                      bigram_count=vocab[key], len_vocab=len(vocab), min_count=theirs.min_count,
                                      corpus_word_count=theirs.corpus_word_count)
            assert ours.score(parts[0], parts[-1], parts[1:-1]) == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert ours.score("zzz", "the") == -math.inf and ours.score("the", "zzz") == -math.inf


def test_the_scorers_are_gensims_for_numbers_and_arrays():
    counts = [(3, 4, 2, 100, 1, 1000), (50, 7, 5, 3000, 5, 60000), (1, 1, 1, 10, 1, 2), (4, 0, 0, 9, 1, 20)]
    for ours, theirs in ((original_scorer, gensim_phrases.original_scorer), (npmi_scorer, gensim_phrases.npmi_scorer)):
        for args in counts:
            try:
                expected = theirs(*args)
            except ZeroDivisionError:  # gensim divides by a zero count; never asked for one
                expected = -math.inf
            assert ours(*args) == pytest.approx(expected, rel=1e-12)
        columns = [np.array(column) for column in zip(*counts[:3], strict=True)]
        np.testing.assert_allclose(ours(*columns), [theirs(*args) for args in counts[:3]], rtol=1e-12)
    assert ENGLISH_CONNECTOR_WORDS == gensim_phrases.ENGLISH_CONNECTOR_WORDS


def test_counting_in_chunks_equals_counting_at_once(lee, monkeypatch):
    settings = SETTINGS[5]
    whole = Phrases(lee, **settings)
    monkeypatch.setattr(phrases_module, "CHUNK_TOKENS", 61)  # bigrams and connector runs across chunk ends
    chunked = Phrases(lee, **settings)
    assert chunked.len_vocab == whole.len_vocab and chunked.export_phrases() == whole.export_phrases()


def test_a_file_reads_as_its_sentences_and_transform_file_writes_them_joined(lee, tmp_path):
    corpus = tmp_path / "lee.txt"
    corpus.write_text("".join(" ".join(s).upper() + "\n" for s in lee), encoding="utf-8")
    config = PhrasesConfig(min_count=2, threshold=2.0, connector_words="english", lowercase=True)
    ours, expected = Phrases(corpus, config=config), Phrases(lee, config=config)
    assert ours.export_phrases() == expected.export_phrases()
    stats = ours.transform_file(corpus, tmp_path / "out.txt")
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    assert lines == [" ".join(expected[s]) for s in lee]
    assert stats["sentences"] == len(lee) and stats["tokens_read"] == sum(map(len, lee))
    assert stats["tokens_written"] == sum(len(line.split()) for line in lines)
    assert stats["joined"] == sum(w.count("_") > 0 for line in lines for w in line.split())
    with Corpus(str(corpus), lowercase=True) as sentences:
        assert list(ours.transform(sentences)) == [expected[s] for s in lee]


def test_a_failed_transform_leaves_the_previous_output(lee, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"new york city\n" * 3 + b"caf\xe9\n")
    out = tmp_path / "out.txt"
    out.write_text("before\n")
    with pytest.raises(DataError, match="line 4"):
        Phrases(lee).transform_file(bad, out)
    assert out.read_text() == "before\n" and sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "out.txt"]


@pytest.mark.parametrize("settings, message", [
    ({"min_count": 0}, "min_count must be at least 1"),
    ({"threshold": 0.0}, "threshold must be positive"),
    ({"scoring": "npmi", "threshold": 1.5}, "between -1 and 1"),
    ({"scoring": "pmi"}, "scoring must be default or npmi"),
    ({"delimiter": ""}, "delimiter"),
    ({"connector_words": "french"}, "connector_words must be"),
    ({"max_vocab_size": 10}, "unknown setting 'max_vocab_size'"),
    ({"threshold": math.nan}, "threshold must be a finite number"),
])
def test_bad_settings_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        Phrases(**settings)


def test_bad_input_is_a_data_error(lee, tmp_path):
    with pytest.raises(DataError, match="fit"):
        Phrases().apply(["a", "b"])
    with pytest.raises(DataError, match="no such file"):
        Phrases(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="is a string"):
        Phrases().fit(iter(["new york"]))
    with pytest.raises(DataError, match="not a string"):
        Phrases(lee).apply("new york")
