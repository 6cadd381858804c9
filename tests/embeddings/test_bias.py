"""Bias measures: WEAT on constructed vectors against hand-worked and brute-force values, the
clustering test, the "she - he" pairs, and the word-list loader's checksum verification."""

from __future__ import annotations

import itertools
import json
import math
import shutil

import numpy as np
import pytest

from seqlab.embeddings import word_lists
from seqlab.embeddings.bias import analogy_pairs, bias_report, cluster_accuracy, weat
from seqlab.embeddings.keyed_vectors import KeyedVectors, load_default_vectors
from seqlab.embeddings.word_lists import (
    RELEASE_SHA256,
    WeatTest,
    definitional_pairs,
    load_gender_lists,
    weat_tests,
)
from seqlab.errors import DataError


def test_weat_hand_worked_example():
    """A = {e1}, B = {e2}: s(w) = cos(w, e1) - cos(w, e2), so x1 = e1 -> 1, x2 = (e1 + e2)/sqrt2 -> 0,
    y1 = e2 -> -1, y2 = (e1 + e2)/sqrt2 -> 0. Effect size (0.5 - (-0.5)) / std([1, 0, -1, 0], ddof=1)
    = 1 / sqrt(2/3); no re-partition beats the observed one (statistic 2), so p = 0."""
    r = 1 / math.sqrt(2)
    kv = KeyedVectors(["x1", "x2", "y1", "y2", "a", "b"],
                      np.array([[1, 0], [r, r], [0, 1], [r, r], [1, 0], [0, 1]], dtype=np.float32))
    result = weat(kv, WeatTest("toy", ["x1", "x2"], ["y1", "y2"], ["a"], ["b"]))
    assert result.effect_size == pytest.approx(math.sqrt(3 / 2), rel=1e-6)
    assert result.statistic == pytest.approx(2.0, rel=1e-6)
    assert result.p_value == 0.0 and result.partitions == 6 and result.exact
    swapped = weat(kv, WeatTest("toy", ["y1", "y2"], ["x1", "x2"], ["a"], ["b"]))
    assert swapped.effect_size == pytest.approx(-math.sqrt(3 / 2), rel=1e-6)
    assert swapped.p_value == pytest.approx(4 / 6)  # stats {2, 2, 0, 0} beat -2 ... and 0 ties are not counted


def brute_force_weat(vectors: dict[str, np.ndarray], X, Y, A, B) -> tuple[float, float]:
    def cos(u, v):
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    def s(w):
        return np.mean([cos(vectors[w], vectors[a]) for a in A]) - np.mean([cos(vectors[w], vectors[b]) for b in B])

    values = {w: s(w) for w in X + Y}
    effect = (np.mean([values[x] for x in X]) - np.mean([values[y] for y in Y])) / np.std(list(values.values()),
                                                                                          ddof=1)
    observed = sum(values[x] for x in X) - sum(values[y] for y in Y)
    everyone = X + Y
    beats = total = 0
    for xi in itertools.combinations(everyone, len(X)):
        yi = [w for w in everyone if w not in xi]
        total += 1
        beats += sum(values[x] for x in xi) - sum(values[y] for y in yi) > observed + 1e-12
    return effect, beats / total


def test_weat_matches_a_brute_force_loop():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(26)]
    vectors = rng.standard_normal((26, 7)).astype(np.float32)
    vectors[:6] += 0.8 * vectors[18]  # X leans towards the first A word
    kv = KeyedVectors(words, vectors)
    X, Y, A, B = words[:6], words[6:12], words[18:22], words[22:26]
    result = weat(kv, WeatTest("random", X, Y, A, B))
    effect, p = brute_force_weat(dict(zip(words, vectors.astype(np.float64), strict=True)), X, Y, A, B)
    assert result.effect_size == pytest.approx(effect, rel=1e-5)
    assert result.p_value == pytest.approx(p, abs=1e-12) and result.partitions == math.comb(12, 6)
    sampled = weat(kv, WeatTest("random", X, Y, A, B), max_exact=10, samples=20000)
    assert not sampled.exact and sampled.p_value == pytest.approx(p, abs=0.01)


def test_weat_reports_missing_words_and_fails_without_any():
    kv = KeyedVectors(["a", "b", "c", "d", "e"], np.eye(5, dtype=np.float32))
    result = weat(kv, WeatTest("t", ["a", "zz"], ["b"], ["c"], ["D"]))  # D found as d (uncased vectors)
    assert result.missing == ["zz"] and result.sizes == {"X": 1, "Y": 1, "A": 1, "B": 1}
    with pytest.raises(DataError, match="WEAT t: no word of Y is in the vocabulary"):
        weat(kv, WeatTest("t", ["a"], ["zz"], ["c"], ["d"]))


def test_shipped_lists():
    tests = weat_tests()
    assert set(tests) == {"career_family", "math_arts", "science_arts"}
    for test in tests.values():
        assert all(len(getattr(test, k)) == 8 for k in "XYAB")
    assert tests["career_family"].X[0] == "John" and tests["math_arts"].B[-1] == "daughter"
    pairs = definitional_pairs()
    assert len(pairs) == 10 and pairs[0] == ("she", "he") and ("Mary", "John") in pairs


def test_cluster_accuracy_separates_planted_groups():
    rng = np.random.default_rng(0)
    centre = rng.standard_normal(10)
    vectors = np.r_[rng.standard_normal((40, 10)) + 3 * centre, rng.standard_normal((40, 10)) - 3 * centre]
    words = [f"f{i}" for i in range(40)] + [f"m{i}" for i in range(40)]
    kv = KeyedVectors(words, vectors.astype(np.float32))
    assert cluster_accuracy(kv, words[:40], words[40:]) == 1.0
    shuffled = KeyedVectors(words, rng.standard_normal((80, 10)).astype(np.float32))
    assert cluster_accuracy(shuffled, words[:40], words[40:]) < 0.75


def test_she_he_pairs_on_the_default_vectors():
    kv = load_default_vectors()
    pairs = analogy_pairs(kv, topn=5, restrict_vocab=3000)
    assert len(pairs) == 5 and pairs[0][2] >= pairs[-1][2]
    assert ("her", "his") in [(x, y) for x, y, _ in pairs]
    unit = kv.unit_vectors()
    for x, y, score in pairs:  # the score is cos(she - he, x - y) and the pair is within distance 1
        d = unit[kv.index("she")] - unit[kv.index("he")]
        diff = unit[kv.index(x)] - unit[kv.index(y)]
        assert float(diff.norm()) <= 1.0 + 1e-6
        assert score == pytest.approx(float(d @ diff / d.norm() / diff.norm()), abs=1e-5)


def test_report_before_and_after_debiasing(shared_data):
    from seqlab.embeddings.debias import hard_debias

    kv = KeyedVectors.load(load_default_vectors().source, limit=6000)
    lists = load_gender_lists(shared_data / "debias")
    before = bias_report(kv, lists, cluster_words=200, analogy_vocab=2000)
    debiased, _ = hard_debias(kv, lists)
    after = bias_report(debiased, lists, reference=kv, cluster_words=200, analogy_vocab=2000)
    assert before["direct_bias"] > 0.1 and after["direct_bias"] < 1e-5
    assert before["cluster_accuracy"] > 0.9  # the biased words are separable before...
    assert after["cluster_accuracy"] > 0.7  # ...and, as Gonen & Goldberg show, still after
    assert before["weat"]["math_arts"]["effect_size"] > 0.5  # (names are rarer than the first 6000 words)
    json.dumps(after)  # JSON-ready


# ------------------------------------------------------------------ Bolukbasi lists: the cache
@pytest.fixture
def offline(monkeypatch):
    """No network: every download attempt fails (and is recorded)."""
    attempts = []

    def fail(name, target, timeout=0):
        attempts.append(name)
        raise DataError(f"cannot download {name} (offline)")

    monkeypatch.setattr(word_lists, "download", fail)
    return attempts


def fill_cache(shared_data, cache):
    cache.mkdir(parents=True)
    for name in RELEASE_SHA256:
        shutil.copy(shared_data / "debias" / name, cache / name)


def test_cache_files_are_verified(shared_data, tmp_path, monkeypatch, offline):
    monkeypatch.setattr(word_lists, "shipped_release_file", lambda name: None)  # an install without them
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    cache = word_lists.cache_dir()
    assert str(cache).startswith(str(tmp_path))
    fill_cache(shared_data, cache)
    lists = load_gender_lists()
    assert len(lists.equalize) == 52 and lists.source.startswith("tolga-b/debiaswe@6bb03ee2a0d7")
    assert offline == []  # verified copies: nothing downloaded
    (cache / "professions.json").write_text('[["nurse", 0.0, 0.0]]', encoding="utf-8")  # tampered
    with pytest.raises(DataError, match="professions.json has the wrong SHA-256 and cannot download.*--lists"):
        load_gender_lists()
    assert offline == ["professions.json"]  # it tried to replace the bad copy
    (cache / "professions.json").unlink()
    with pytest.raises(DataError, match="professions.json is not there"):
        load_gender_lists()
    with pytest.raises(DataError, match="downloading is off"):
        load_gender_lists(allow_download=False)


def test_lists_directory_errors(tmp_path):
    with pytest.raises(DataError, match="nothere: no such directory"):
        load_gender_lists(tmp_path / "nothere")
    (tmp_path / "equalize_pairs.json").write_text('[["a", "b"]]', encoding="utf-8")
    with pytest.raises(DataError, match="gender_specific_full.json: no such file; --lists DIR needs"):
        load_gender_lists(tmp_path)
    (tmp_path / "gender_specific_full.json").write_text('["he", "she"', encoding="utf-8")
    (tmp_path / "professions.json").write_text('[["nurse", 0.0, 0.0]]', encoding="utf-8")
    with pytest.raises(DataError, match="gender_specific_full.json: not valid JSON"):
        load_gender_lists(tmp_path)
    (tmp_path / "gender_specific_full.json").write_text('["he", "she"]', encoding="utf-8")
    lists = load_gender_lists(tmp_path)
    assert lists.professions == ["nurse"] and lists.definitional == definitional_pairs()
    (tmp_path / "equalize_pairs.json").write_text('[["a", "b", "c"]]', encoding="utf-8")
    with pytest.raises(DataError, match="equalize_pairs.json: expected a JSON list of \\[word, word\\] pairs"):
        load_gender_lists(tmp_path)



def test_the_shipped_release_lists_are_the_pinned_ones(offline):
    """data/debias/debiaswe/ holds the release files unchanged (their SHA-256) with the MIT licence."""
    for name in word_lists.NEEDED:
        assert word_lists.shipped_release_file(name) is not None, name
    assert "MIT License" in word_lists.debias_file("debiaswe/LICENSE.debiaswe").read_text()
    lists = load_gender_lists()
    assert (len(lists.equalize), len(lists.gender_specific), len(lists.professions)) == (52, 1441, 320)
    assert offline == []
