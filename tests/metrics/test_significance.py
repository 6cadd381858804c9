"""Paired bootstrap, approximate randomisation and bootstrap confidence (numpy on the CPU, the same
formula in torch for a GPU) against sacrebleu's ``significance`` module: the same p-values, means and
intervals for the same seed, and statistically equivalent figures where sacrebleu's arithmetic or draws
cannot be reproduced."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pytest
import sacrebleu.significance as sacre_significance
import torch
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest
from systems import damaged

from seqlab.errors import ConfigError, DataError
from seqlab.metrics import significance
from seqlab.metrics.bleu_ids import sentence_bleu_from_statistics
from seqlab.metrics.evaluate import evaluate_systems, metric_statistics, with_test
from seqlab.metrics.significance import (
    Result,
    bootstrap_sums,
    estimate_ci,
    p_values,
    paired_approximate_randomization,
    paired_bootstrap,
    swapped_sums,
)

WORDS = "a an the cat dog sat on mat runs in park , . two people walk busy street red blue ball".split()
SACRE = {"BLEU": BLEU, "chrF2": CHRF, "TER": TER}


def make_systems(refs: list[str], seed: int = 0) -> list[tuple[str, list[str]]]:
    """A baseline and three systems: one a little better, one much worse, one equal to the baseline in
    all but three lines (so that most AR swaps change nothing and tie with the real difference)."""
    rng = random.Random(seed)
    base = damaged(refs, rng, 0.15)
    near = list(base)
    for i in (5, 40, 77):
        near[i] = damaged([refs[i]], rng, 0.15)[0]
    return [("base", base), ("better", damaged(refs, rng, 0.08)), ("worse", damaged(refs, rng, 0.35)),
            ("near", near)]


@pytest.fixture(scope="module")
def synthetic():
    rng = random.Random(7)
    refs = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 16))) for _ in range(90)]
    return refs, make_systems(refs)


def sacrebleu_test(systems, refs, test, n, n_ar_confidence=-1, names=("BLEU", "chrF2", "TER")):
    metrics = {name: SACRE[name](references=refs) for name in names}
    return PairedTest(systems, metrics, None, test, n, n_ar_confidence)()


def assert_equal_results(ours: list[Result], theirs) -> None:
    for a, b in zip(ours, theirs, strict=True):
        assert (a.score, a.p_value, a.mean, a.ci) == (b.score, b.p_value, b.mean, b.ci)


@pytest.mark.parametrize("test,n,confidence", [("bs", 200, 0), ("ar", 300, 0), ("ar", 300, 120)])
def test_paired_tests_equal_sacrebleu(synthetic, test, n, confidence):
    refs, systems = synthetic
    signatures, expected = sacrebleu_test(systems, [refs], test, n, confidence or -1)
    ours = evaluate_systems(systems, [refs], "bleu,chrf,ter", test, n, confidence_n=confidence)
    for name in SACRE:
        assert_equal_results(ours.results[name], expected[name])
        assert ours.signatures[name] == signatures[name].format()
    assert ours.results["BLEU"][2].significant  # the test can say "different" ...
    if test == "bs":  # ... and "no difference" (AR's strict > counts no tie, so three changed lines can pass it)
        assert ours.results["BLEU"][3].p_value > 0.05 and not ours.results["BLEU"][3].significant


@pytest.mark.parametrize("word_order", [0, 2])
def test_paired_bootstrap_chrf_plus_plus_and_other_seed(synthetic, monkeypatch, word_order):
    refs, systems = synthetic
    monkeypatch.setenv("SACREBLEU_SEED", "77")
    metric = CHRF(word_order=word_order, references=[refs])
    signatures, expected = PairedTest(systems, {"chrF": metric}, None, "bs", 150)()
    ours = evaluate_systems(systems, [refs], "chrf++" if word_order else "chrf", "bs", 150, seed=77)
    (name,) = ours.metrics
    assert name == ("chrF2++" if word_order else "chrF2")
    assert_equal_results(ours.results[name], expected[name])
    assert ours.signatures[name] == signatures[name].format()


@pytest.mark.parametrize("name", ["BLEU", "chrF2", "TER"])
def test_confidence_equals_corpus_score_n_bootstrap(synthetic, name):
    refs, systems = synthetic
    ours = evaluate_systems(systems[:2], [refs], name.lower().rstrip("2"), confidence_n=250)
    for k, (_, hyps) in enumerate(systems[:2]):
        metric = SACRE[name]()
        expected = metric.corpus_score(hyps, [refs], n_bootstrap=250)
        result = ours.results[name][k]
        assert (result.score, result.mean, result.ci) == (expected.score, expected._mean, expected._ci)
        assert ours.signatures[name] == metric.get_signature().format()


def test_bleu_options_and_two_references(synthetic):
    refs, systems = synthetic
    second = damaged(refs, random.Random(1), 0.3)
    from seqlab.metrics.bleu import BLEU as OurBLEU

    ours = evaluate_systems(systems, [refs, second], "bleu", "bs", 120,
                            bleu=OurBLEU(lowercase=True, tokenize="intl", smooth_method="floor", smooth_value=0.2))
    metric = BLEU(lowercase=True, tokenize="intl", smooth_method="floor", smooth_value=0.2, references=[refs, second])
    signatures, expected = PairedTest(systems, {"BLEU": metric}, None, "bs", 120)()
    assert ours.signatures["BLEU"] == signatures["BLEU"].format()
    for a, b in zip(ours.results["BLEU"], expected["BLEU"], strict=True):  # a log or exp may differ in its last bit
        assert (a.score, a.p_value) == (b.score, b.p_value)
        assert a.mean == pytest.approx(b.mean, rel=1e-13) and a.ci == pytest.approx(b.ci, rel=1e-12)


def test_ter_with_three_references_is_equivalent(synthetic):
    """Average reference lengths in thirds are inexact in float32, and sacrebleu sums them in float32 in
    sentence order: not reproducible to the bit, equal to float32 precision."""
    refs, systems = synthetic
    streams = [refs, damaged(refs, random.Random(2), 0.2), damaged(refs, random.Random(3), 0.3)]
    _, expected = sacrebleu_test(systems, streams, "bs", 200, names=("TER",))
    ours = evaluate_systems(systems, streams, "ter", "bs", 200)
    for a, b in zip(ours.results["TER"], expected["TER"], strict=True):
        assert a.score == b.score
        assert a.mean == pytest.approx(b.mean, rel=1e-5) and a.ci == pytest.approx(b.ci, rel=1e-4, abs=1e-4)
        assert a.p_value == pytest.approx(b.p_value, abs=2 / 201) if b.p_value is not None else a.p_value is None


def test_unseeded_draws_are_statistically_equivalent(synthetic):
    """seed=None draws from the OS: no parity possible, but the same estimates up to resampling noise."""
    refs, systems = synthetic
    _, expected = sacrebleu_test(systems, [refs], "bs", 1000, names=("BLEU",))
    ours = evaluate_systems(systems, [refs], "bleu", "bs", 1000, seed=None)
    for a, b in zip(ours.results["BLEU"], expected["BLEU"], strict=True):
        assert a.score == b.score
        assert abs(a.mean - b.mean) < 0.15 * b.ci and a.ci == pytest.approx(b.ci, rel=0.2)
    assert [r.significant for r in ours.results["BLEU"][1:]] == [r.p_value <= 0.05 for r in expected["BLEU"][1:]]


def test_chunked_resampling_gives_the_same_figures(synthetic, monkeypatch):
    refs, systems = synthetic
    whole = evaluate_systems(systems, [refs], "bleu,chrf", "ar", 250, confidence_n=100)
    monkeypatch.setattr(significance, "CHUNK_ELEMENTS", 1000)  # chunks of 11 resamples
    chunked = evaluate_systems(systems, [refs], "bleu,chrf", "ar", 250, confidence_n=100)
    assert whole.results == chunked.results


@pytest.mark.parametrize("backend", [np.asarray, torch.as_tensor], ids=["numpy", "torch"])
def test_sums_equal_explicit_gather_and_masks(backend):
    rng = np.random.default_rng(0)
    stats = rng.integers(0, 9, size=(3, 40, 5)).astype(np.float64)
    indices = rng.choice(40, size=(25, 40))
    gathered = stats[:, indices].sum(2)  # (K, n, S, D) -> (K, n, D)
    sums = bootstrap_sums(backend(stats), indices)
    assert type(sums) is type(backend(stats)) and np.array_equal(np.asarray(sums), gathered)
    swaps = rng.integers(2, size=(30, 40), dtype=bool)
    a, b = (np.asarray(x) for x in swapped_sums(backend(stats[0]), backend(stats[1:]), swaps))
    base, systems = stats[0], stats[1:]
    for k in range(2):  # sacrebleu's pos_sel @ bl_stats + neg_sel @ sys_stats
        assert np.array_equal(a[k], swaps @ base + ~swaps @ systems[k])
        assert np.array_equal(b[k], ~swaps @ base + swaps @ systems[k])


@pytest.mark.parametrize("key", ["bleu", "chrf", "chrf++", "ter"])
def test_torch_tensors_give_the_figures_of_numpy_arrays(synthetic, key):
    """The CPU path resamples numpy arrays; a GPU's is the same formula on tensors (run here on the CPU):
    equal p-values, and means and intervals equal but for torch's log and exp (BLEU) in the last bits."""
    refs, systems = synthetic
    metric = metric_statistics(key, [refs])
    rows = np.stack([metric.statistics(hyps, None)[0] for _, hyps in systems])
    assert isinstance(rows, np.ndarray)
    for test in (lambda stats: paired_bootstrap(stats, metric.score, 300),
                 lambda stats: paired_approximate_randomization(stats, metric.score, 400, n_confidence=100)):
        ours, theirs = test(rows), test(torch.as_tensor(rows))
        for a, b in zip(ours, theirs, strict=True):
            assert (a.score, a.p_value) == (b.score, b.p_value)
            assert a.mean == pytest.approx(b.mean, rel=1e-13) and a.ci == pytest.approx(b.ci, rel=1e-12, abs=1e-12)


def test_summaries_equal_sacrebleu_helpers():
    rng = np.random.default_rng(3)
    for dtype in (np.float64, np.float32):
        scores = (rng.random((4, 999)) * 60).astype(dtype)
        means, cis = estimate_ci(scores)
        for k in range(4):
            mean, ci = sacre_significance.estimate_ci(scores[k])
            assert (means[k], cis[k]) == (mean, ci) and means.dtype == dtype
    stats = np.array([[0.5, 1.0, 2.0, -1.0], [3.0, 3.0, 3.0, 3.0]])
    assert p_values(stats, np.array([0.9, 3.0])).tolist() == [3 / 5, 1 / 5]  # hand-worked: 2 and 0 exceed
    for k, observed in enumerate([0.9, 3.0]):
        assert p_values(stats[k], np.array(observed)) == sacre_significance._compute_p_value(stats[k], observed)


@pytest.mark.parametrize("backend", [np.asarray, torch.as_tensor], ids=["numpy", "torch"])
def test_float32_bleu_equals_sacrebleus_bootstrap_arithmetic(backend):
    """sacrebleu's bootstrap scores BLEU from float32 sums: precisions are float32 divisions. numpy arrays
    take the C library's log and exp, as sacrebleu: bit-equal; torch's (a GPU's) may differ in the last bit."""
    rng = np.random.default_rng(5)
    hyp = rng.integers(5, 60, size=400)
    correct = np.minimum(hyp[:, None] - np.arange(4), rng.integers(0, 40, size=(400, 4))).clip(0)
    correct[::7, 2:] = 0  # orders with no match: smoothing
    rows = np.concatenate([hyp[:, None], rng.integers(5, 60, size=(400, 1)), correct,
                           (hyp[:, None] - np.arange(4)).clip(0)], 1).astype(np.float32)
    for method, value in [("exp", None), ("floor", 0.1), ("add-k", 1), ("none", None)]:
        metric = BLEU(smooth_method=method, smooth_value=value)
        theirs = [metric._compute_score_from_stats(row.copy()).score for row in rows]
        ours = np.asarray(sentence_bleu_from_statistics(backend(rows), method, value, False, 4, "float32"))
        assert ours.tolist() == pytest.approx(theirs, rel=1e-14, abs=1e-14)
        bit_equal = (ours == np.array(theirs)).mean()
        assert bit_equal == 1.0 if backend is np.asarray else bit_equal > 0.99


def test_identical_systems_and_errors(synthetic):
    refs, systems = synthetic
    same = [systems[0], ("copy", systems[0][1])]
    _, expected = sacrebleu_test(same, [refs], "ar", 200, names=("BLEU",))
    ours = evaluate_systems(same, [refs], "bleu", "ar", 200)
    # every trial ties with the real difference (0), none exceeds it: p = 1 / (n + 1), as in sacrebleu
    assert ours.results["BLEU"][1].p_value == expected["BLEU"][1].p_value == 1 / 201
    with pytest.raises(ConfigError, match="at least two systems"):
        evaluate_systems(systems[:1], [refs], "bleu", "bs")
    with pytest.raises(ConfigError, match="unknown metric 'meteor'"):
        evaluate_systems(systems, [refs], "bleu,meteor")
    with pytest.raises(DataError, match="short: 3 lines"):
        evaluate_systems([systems[0], ("short", ["a", "b", "c"])], [refs], "bleu")
    with pytest.raises(ConfigError, match="given twice"):
        evaluate_systems([systems[0], systems[0]], [refs], "bleu")


def test_signature_items_go_where_sacrebleu_puts_them():
    assert with_test("nrefs:1|case:mixed|version:2.6.0", bs=1000, seed=12345) == \
        "nrefs:1|bs:1000|seed:12345|case:mixed|version:2.6.0"
    assert with_test("nrefs:2|x:y", bs=None, ar=10, seed="None") == "nrefs:2|ar:10|seed:none|x:y"


def test_paired_bootstrap_on_raw_statistics_defaults_to_the_formula():
    """The tensor API alone: real scores from the formula, one baseline and one system."""
    rng = np.random.default_rng(9)
    stats = torch.tensor(rng.integers(0, 20, size=(2, 50, 2)), dtype=torch.float64)
    stats[..., 1] += 1
    from seqlab.metrics.ter import ter_from_statistics

    results = paired_bootstrap(stats, ter_from_statistics, 100, seed=1)
    sums = stats.sum(1)
    assert [r.score for r in results] == [TER()._compute_score_from_stats(row).score for row in sums.tolist()]
    assert results[0].p_value is None and 0 < results[1].p_value <= 1 and results[1].ci > 0


@pytest.mark.data
def test_multi30k_systems_equal_sacrebleu(shared_data):
    with gzip.open(shared_data / "multi30k" / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as fh:
        refs = [line.rstrip("\n") for line in fh][:100]
    systems = make_systems(refs, seed=4)
    for test, n in (("bs", 200), ("ar", 400)):
        signatures, expected = sacrebleu_test(systems, [refs], test, n, names=("BLEU", "chrF2"))
        ours = evaluate_systems(systems, [refs], "bleu,chrf", test, n)
        for name in ("BLEU", "chrF2"):
            assert_equal_results(ours.results[name], expected[name])


@pytest.mark.gpu
def test_cuda_equals_cpu(synthetic):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    refs, systems = synthetic
    for test, n in (("bs", 300), ("ar", 500)):
        cpu = evaluate_systems(systems, [refs], "bleu,chrf,ter", test, n, device="cpu")
        gpu = evaluate_systems(systems, [refs], "bleu,chrf,ter", test, n, device="cuda")
        for name in cpu.metrics:
            for a, b in zip(cpu.results[name], gpu.results[name], strict=True):
                assert (a.score, a.p_value) == (b.score, b.p_value)
                assert a.mean == pytest.approx(b.mean, rel=1e-12) if a.mean is not None else b.mean is None
                assert a.ci == pytest.approx(b.ci, rel=1e-12, abs=1e-12) if a.ci is not None else b.ci is None
