"""chrF, chrF++ and TER: corpus scores equal sacrebleu's, and the vectorised formulas equal sacrebleu's
``_compute_score_from_stats`` bit for bit (float64 for corpus scores and AR, float32 for bootstrap)."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pytest
import torch
from sacrebleu.metrics import CHRF, TER
from systems import damaged

from seqlab.metrics import corpus_chrf
from seqlab.metrics.chrf import chrf_from_statistics
from seqlab.metrics.evaluate import evaluate_systems
from seqlab.metrics.ter import corpus_ter, ter_from_statistics

WORDS = "a an the cat dog sat on mat runs in park , . ( ) two people walk busy street é ß 猫".split()


def sentences(rng: random.Random, count: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 14))) for _ in range(count)]


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(11)
    refs = sentences(rng, 80)
    refs2 = damaged(refs, rng, 0.2)
    return {"refs": refs, "refs2": refs2, "hyps": damaged(refs, rng, 0.25), "other": damaged(refs, rng, 0.4)}


@pytest.mark.parametrize("name,metric", [("chrF2", CHRF()), ("chrF2++", CHRF(word_order=2)), ("TER", TER())])
@pytest.mark.parametrize("two_refs", [False, True])
def test_corpus_scores_equal_sacrebleu(corpus, name, metric, two_refs):
    refs = [corpus["refs"], corpus["refs2"]] if two_refs else [corpus["refs"]]
    key = {"chrF2": "chrf", "chrF2++": "chrf++", "TER": "ter"}[name]
    result = evaluate_systems([("a", corpus["hyps"]), ("b", corpus["other"])], refs, key)
    for k, hyps in enumerate([corpus["hyps"], corpus["other"]]):
        expected = metric.corpus_score(hyps, refs)
        assert result.results[name][k].score == expected.score
        assert result.scores[name][k].score == expected.score
    assert result.signatures[name] == metric.get_signature().format()


def test_one_call_forms(corpus):
    refs = [corpus["refs"], corpus["refs2"]]
    assert corpus_chrf(corpus["hyps"], refs) == CHRF().corpus_score(corpus["hyps"], refs).score
    chrf_plus_plus = CHRF(word_order=2).corpus_score(corpus["hyps"], refs).score
    assert corpus_chrf(corpus["hyps"], refs, word_order=2) == chrf_plus_plus
    assert corpus_ter(corpus["hyps"], refs) == TER().corpus_score(corpus["hyps"], refs).score


BACKENDS = [np.asarray, torch.as_tensor]  # the CPU's arrays, and tensors as a GPU has them


def random_sums(metric, rng: np.random.Generator, rows: int = 300) -> list[np.ndarray]:
    """Summed statistics of random subsets of sentences: the rows a resample scores."""
    stats = np.array(metric._extract_corpus_statistics(*metric._sample))
    weights = rng.integers(0, 3, size=(rows, len(stats)))
    weights[0] = 0  # an empty corpus: every count zero
    return weights @ stats


@pytest.mark.parametrize("kwargs", [{}, {"word_order": 2}, {"beta": 1}, {"eps_smoothing": True},
                                    {"word_order": 2, "eps_smoothing": True}, {"char_order": 4}])
@pytest.mark.parametrize("backend", BACKENDS, ids=["numpy", "torch"])
def test_chrf_formula_equals_sacrebleu_bit_for_bit(corpus, kwargs, backend):
    metric = CHRF(**kwargs)
    metric._sample = (corpus["hyps"], [corpus["refs"]])
    sums = random_sums(metric, np.random.default_rng(1))
    sums[1, 3 * (metric.order - 1)] = 0  # no hypothesis n-gram of the highest order
    for dtype, np_dtype in [("float64", np.int64), ("float32", np.float32)]:
        ours = chrf_from_statistics(backend(sums.astype(np_dtype)), metric.beta, metric.eps_smoothing, dtype)
        theirs = [metric._compute_score_from_stats(row).score for row in sums.astype(np_dtype)]
        assert str(ours.dtype).removeprefix("torch.") == dtype
        if metric.eps_smoothing and dtype == "float32":
            # an order with no hypothesis or reference n-gram gets sacrebleu's eps as a Python float, which
            # mixes float64 into its float32 arithmetic: equal to float32 precision there, exact elsewhere
            counts = sums.reshape(len(sums), -1, 3)[:, :, :2]
            full = (counts > 0).all((1, 2))
            assert 0 < full.sum() < len(sums)
            assert ours[full].tolist() == [float(x) for x, f in zip(theirs, full, strict=True) if f]
            assert ours.tolist() == pytest.approx([float(x) for x in theirs], rel=1e-6)
        else:
            assert ours.tolist() == [float(x) for x in theirs]


@pytest.mark.parametrize("backend", BACKENDS, ids=["numpy", "torch"])
def test_ter_formula_equals_sacrebleu_bit_for_bit(corpus, backend):
    metric = TER()
    metric._sample = (corpus["hyps"], [corpus["refs"], corpus["refs2"], corpus["other"]])  # averaged lengths
    sums = random_sums(metric, np.random.default_rng(2)).astype(np.float64)
    sums[1] = [3, 0]  # empty references, non-empty hypothesis: 100
    for dtype, np_dtype in [("float64", np.float64), ("float32", np.float32)]:
        ours = ter_from_statistics(backend(sums.astype(np_dtype)), dtype)
        theirs = [metric._compute_score_from_stats(row).score for row in sums.astype(np_dtype)]
        assert ours.tolist() == [float(x) for x in theirs]
    assert ter_from_statistics(backend([[0.0, 0.0], [2.0, 0.0], [1.0, 4.0]])).tolist() == [0.0, 100.0, 25.0]


def test_chrf_hand_worked():
    """One order, hyp 4 n-grams, ref 5, 2 matches: P = 1/2, R = 2/5, F2 = 5 P R / (4 P + R) = 1 / 2.4."""
    score = chrf_from_statistics(torch.tensor([[4.0, 5.0, 2.0]]))
    assert score.item() == pytest.approx(100 * 5 * 0.5 * 0.4 / (4 * 0.5 + 0.4))


@pytest.mark.data
def test_multi30k_corpus_scores(shared_data):
    with gzip.open(shared_data / "multi30k" / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as fh:
        refs = [line.rstrip("\n") for line in fh][:300]
    hyps = damaged(refs, random.Random(3), 0.15)
    result = evaluate_systems([("sys", hyps)], [refs], "chrf,chrf++,ter")
    assert result.results["chrF2"][0].score == CHRF().corpus_score(hyps, [refs]).score
    assert result.results["chrF2++"][0].score == CHRF(word_order=2).corpus_score(hyps, [refs]).score
    assert result.results["TER"][0].score == TER().corpus_score(hyps, [refs]).score
