"""String BLEU: known answers, edge cases and exact parity with sacrebleu."""

from __future__ import annotations

import gzip
import random

import pytest
import sacrebleu

from seqlab.errors import ConfigError, DataError
from seqlab.metrics.bleu import BLEU, SMOOTH_METHODS, compute_bleu, corpus_bleu, sentence_bleu

# The tokenizers sacrebleu has without extra installs (ja-mecab, ko-mecab and spm need more).
TOKENIZERS = ["13a", "intl", "char", "zh", "none"]


def assert_same(ours, theirs) -> None:
    """Every number of the score equal to sacrebleu's, to the last bit."""
    assert ours.score == theirs.score
    assert list(ours.counts) == list(theirs.counts)
    assert list(ours.totals) == list(theirs.totals)
    assert ours.precisions == theirs.precisions
    assert ours.bp == theirs.bp
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert ours.ratio == theirs.ratio
    assert ours.verbose() == theirs._verbose


def perturb(line: str, rng: random.Random) -> str:
    """Word drops, swaps, truncations and the odd empty line: systematic damage to a sentence."""
    words = line.split()
    kind = rng.randrange(6)
    if kind == 0 and words:
        del words[rng.randrange(len(words))]
    elif kind == 1 and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif kind == 2:
        words = words[: rng.randrange(len(words) + 1)]
    elif kind == 3 and rng.random() < 0.3:
        words = []
    elif kind == 4:
        words = words + words[: rng.randrange(3)]  # longer than the reference
    return " ".join(words)


@pytest.fixture(scope="module")
def multi30k(shared_data):
    def read(name):
        with gzip.open(shared_data / "multi30k" / name, "rt", encoding="utf-8", newline="\n") as fh:
            return [line.rstrip("\n") for line in fh]

    en, de = read("test_2016_flickr.en.gz"), read("test_2016_flickr.de.gz")
    second = read("test_2017_flickr.en.gz")  # a second, unrelated "reference" stream of the same length
    rng = random.Random(5)
    hyps = [perturb(line, rng) for line in en]
    return {"en": en, "de": de, "second": second, "hyps": hyps, "hyps_de": [perturb(x, rng) for x in de]}


# --- known answers -------------------------------------------------------------------------------

def test_modified_precision_papineni_example():
    """Papineni et al. 2002, section 2.1: 'the' x 7 against 'the cat is on the mat' is 2/7."""
    score = corpus_bleu(["the the the the the the the"], [["the cat is on the mat"]], tokenize="none")
    assert score.counts[0] == 2 and score.totals[0] == 7
    assert score.totals[1:] == [6, 5, 4] and score.counts[1:] == [0, 0, 0]


def test_closest_reference_length_ties_to_the_shorter():
    """Hypothesis of 4 words, references of 3 and 5 words: both 1 away, r = 3, so BP = 1."""
    score = corpus_bleu(["a b c d"], [["a b c"], ["a b c d e"]], tokenize="none")
    assert score.ref_len == 3 and score.bp == 1.0
    score = corpus_bleu(["a b"], [["a b c"], ["a b c d e"]], tokenize="none")
    assert score.ref_len == 3 and score.bp == pytest.approx(2.718281828 ** (1 - 3 / 2))


def test_perfect_match_and_disjoint():
    assert corpus_bleu(["a b c d e"], [["a b c d e"]]).score == pytest.approx(100.0)
    assert corpus_bleu(["v w x y z"], [["a b c d e"]]).score == 0.0


def test_compute_bleu_by_hand():
    """1-4 gram precisions 3/4, 2/3, 1/2, 1/3 and c = r: BLEU = (3/4 * 2/3 * 1/2 * 1/3) ** (1/4)."""
    score = compute_bleu([3, 2, 1, 1], [4, 3, 2, 3], 4, 4)
    assert score.score == pytest.approx(100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 3) ** 0.25, rel=1e-12)
    assert score.bp == 1.0


# --- edge cases, each against sacrebleu ----------------------------------------------------------

EDGE_CASES = [
    ("", ["the cat sat on the mat"]),  # empty hypothesis
    ("the cat sat on the mat and then it sat on the other mat too", ["the cat sat", "a cat sat on a mat"]),  # longer
    ("cat the mat on sat", ["the cat sat on the mat"]),  # unigram matches only, no bigram match
    ("the cat sat on a rug", ["the cat sat on the mat"]),  # no 4-gram match
    ("cat", ["cat"]),  # a single word
    ("cat", ["dog"]),
    ("the cat", ["", "the cat is here"]),  # an empty reference
    ("Der Hund , der läuft .", ["der Hund läuft ."]),  # case and punctuation
]


@pytest.mark.parametrize("smooth", SMOOTH_METHODS)
@pytest.mark.parametrize("hyp,refs", EDGE_CASES)
def test_edge_cases_sentence_and_corpus(hyp, refs, smooth):
    assert_same(sentence_bleu(hyp, refs, smooth_method=smooth),
                sacrebleu.sentence_bleu(hyp, refs, smooth_method=smooth))
    for eff in (False, True):
        assert_same(corpus_bleu([hyp], [[r] for r in refs], smooth_method=smooth, effective_order=eff),
                    sacrebleu.corpus_bleu([hyp], [[r] for r in refs], smooth_method=smooth,
                                          use_effective_order=eff))


@pytest.mark.parametrize("smooth,value", [("floor", 0.3), ("add-k", 2.0), ("floor", 0.0), ("add-k", 0.5)])
def test_smoothing_values(smooth, value):
    hyp, refs = "the cat sat on a rug today", ["the cat sat on the mat"]
    ours = sentence_bleu(hyp, refs, smooth_method=smooth, smooth_value=value)
    assert_same(ours, sacrebleu.sentence_bleu(hyp, refs, smooth_method=smooth, smooth_value=value))


def test_signature_equals_sacrebleu():
    for kwargs in [{}, {"lowercase": True, "tokenize": "intl"}, {"smooth_method": "floor"},
                   {"smooth_method": "add-k", "smooth_value": 2}, {"effective_order": True, "tokenize": "char"}]:
        ours = BLEU(**kwargs)
        ours.corpus_score(["a b c"], [["a b c"], ["a b d"]])
        sacre_kwargs = dict(kwargs)
        theirs = sacrebleu.BLEU(**sacre_kwargs)
        theirs.corpus_score(["a b c"], [["a b c"], ["a b d"]])
        assert ours.signature() == theirs.get_signature().format()


def test_variable_number_of_references():
    hyps = ["a b c d", "e f g h"]
    refs = [["a b c d", "e f g"], ["a b c", None]]
    ours = BLEU()
    theirs = sacrebleu.BLEU()
    assert_same(ours.corpus_score(hyps, refs), theirs.corpus_score(hyps, refs))
    assert "nrefs:var" in ours.signature() and ours.signature() == theirs.get_signature().format()


def test_bad_options_and_inputs():
    with pytest.raises(ConfigError, match="tokenizer 'moses'"):
        BLEU(tokenize="moses")
    with pytest.raises(ConfigError, match="smoothing method 'laplace'"):
        BLEU(smooth_method="laplace")
    with pytest.raises(DataError, match="reference stream 1 has 1 lines"):
        corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(DataError, match="sentence 1 has no reference"):
        corpus_bleu(["a"], [[None]])


# --- property test: random token sequences --------------------------------------------------------

def test_random_sequences_match_sacrebleu():
    """Random sentences over a tiny vocabulary (many repeated n-grams, so clipping matters)."""
    rng = random.Random(0)
    for trial in range(60):
        vocab = [f"w{i}" for i in range(rng.randint(1, 6))]
        size = rng.randint(1, 12)
        num_refs = rng.randint(1, 3)

        def sentence(vocab=vocab):
            return " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 14)))

        hyps = [sentence() for _ in range(size)]
        refs = [[sentence() for _ in range(size)] for _ in range(num_refs)]
        smooth = SMOOTH_METHODS[trial % 4]
        assert_same(corpus_bleu(hyps, refs, tokenize="none", smooth_method=smooth),
                    sacrebleu.corpus_bleu(hyps, refs, tokenize="none", smooth_method=smooth))
        for i in range(size):
            sentence_refs = [r[i] for r in refs]
            assert_same(sentence_bleu(hyps[i], sentence_refs, tokenize="none", smooth_method=smooth),
                        sacrebleu.sentence_bleu(hyps[i], sentence_refs, tokenize="none", smooth_method=smooth))


def test_max_order():
    hyps, refs = ["a b c d e f"], [["a b c d x f"]]
    for order in (1, 2, 3, 5):
        ours = corpus_bleu(hyps, refs, max_order=order)
        theirs = sacrebleu.BLEU(max_ngram_order=order).corpus_score(hyps, refs)
        assert_same(ours, theirs)


# --- Multi30k parity ------------------------------------------------------------------------------

@pytest.mark.data
@pytest.mark.parametrize("tokenize", TOKENIZERS)
@pytest.mark.parametrize("lowercase", [False, True])
def test_multi30k_corpus_parity(multi30k, tokenize, lowercase):
    hyps, en, second = multi30k["hyps"], multi30k["en"], multi30k["second"]
    for refs in ([en], [en, second]):
        ours = BLEU(lowercase=lowercase, tokenize=tokenize)
        theirs = sacrebleu.BLEU(lowercase=lowercase, tokenize=tokenize)
        assert_same(ours.corpus_score(hyps, refs), theirs.corpus_score(hyps, refs))
        assert ours.signature() == theirs.get_signature().format()


@pytest.mark.data
def test_multi30k_german_and_unrelated_references(multi30k):
    """German hypotheses (non-ASCII) and a hypothesis set scored against an unrelated reference set."""
    assert_same(corpus_bleu(multi30k["hyps_de"], [multi30k["de"]], tokenize="intl"),
                sacrebleu.corpus_bleu(multi30k["hyps_de"], [multi30k["de"]], tokenize="intl"))
    assert_same(corpus_bleu(multi30k["hyps"], [multi30k["second"]]),
                sacrebleu.corpus_bleu(multi30k["hyps"], [multi30k["second"]]))


@pytest.mark.data
@pytest.mark.parametrize("smooth", SMOOTH_METHODS)
def test_multi30k_sentence_parity(multi30k, smooth):
    hyps, en, second = multi30k["hyps"], multi30k["en"], multi30k["second"]
    ours = BLEU(smooth_method=smooth, effective_order=True).sentence_scores(hyps[:400], [en[:400], second[:400]])
    theirs = sacrebleu.BLEU(smooth_method=smooth, effective_order=True)
    for i, score in enumerate(ours):
        assert_same(score, theirs.sentence_score(hyps[i], [en[i], second[i]]))


@pytest.mark.parametrize("method,value,fragment", [
    ("floor", -1.0, "floor smoothing needs a value in [0, 1]"), ("floor", float("nan"), "got nan"),
    ("floor", 1.5, "got 1.5"), ("add-k", float("inf"), "add-k smoothing needs a finite k >= 0"),
    ("add-k", -1.0, "got -1.0"), ("exp", 0.1, "smoothing 'exp' takes no value"),
    ("none", 0.0, "smoothing 'none' takes no value"), ("laplace", None, "unknown smoothing method 'laplace'"),
])
def test_smoothing_values_are_validated_everywhere(method, value, fragment):
    """compute_bleu, BLEU and the token-id BLEU refuse what would give a math error, nan or a score over 100."""
    import torch

    from seqlab.metrics.bleu_ids import corpus_bleu_ids, sentence_bleu_from_statistics

    calls = [lambda: compute_bleu([1, 0, 0, 0], [2, 1, 0, 0], 2, 2, method, value),
             lambda: BLEU(smooth_method=method, smooth_value=value),
             lambda: sentence_bleu("a b", ["a c"], smooth_method=method, smooth_value=value),
             lambda: sentence_bleu_from_statistics(torch.tensor([[2, 2, 1, 0, 0, 0, 2, 1, 0, 0]]), method, value),
             lambda: corpus_bleu_ids(torch.tensor([[1, 2]]), torch.tensor([2]), torch.tensor([[1, 3]]),
                                     torch.tensor([2]), method, value)]
    for call in calls:
        with pytest.raises(ConfigError) as info:
            call()
        assert fragment in str(info.value)
