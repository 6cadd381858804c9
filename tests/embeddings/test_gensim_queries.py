"""The queries gensim users reach for, against gensim 4.4, on both seqlab classes (KeyedVectors, torch;
VectorIndex, numpy): vectors among the arguments, ``topn=None``, distances, ``n_similarity``,
``closer_than`` / ``rank``, ``get_mean_vector``, ``add_vectors`` and Word Mover's Distance."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors as GensimKeyedVectors
from scipy.optimize import linprog
from scipy.stats import wasserstein_distance

from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.nearest import VectorIndex
from seqlab.errors import DataError, UnknownWordError

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")  # gensim's init_sims

WORDS = [f"w{i}" for i in range(300)]
VECTORS = np.random.default_rng(2027).standard_normal((300, 20)).astype(np.float32)
# query vectors: not any word's, of lengths far from 1 (a vector is used as given, its length weighs it)
QUERY = np.random.default_rng(5).standard_normal((3, 20)).astype(np.float32) * np.array([[3.7], [0.2], [1.0]],
                                                                                         dtype=np.float32)
CLASSES = [KeyedVectors, VectorIndex]


def to_gensim(words: list[str], vectors: np.ndarray) -> GensimKeyedVectors:
    gkv = GensimKeyedVectors(vectors.shape[1])
    gkv.add_vectors(words, vectors)
    return gkv


@pytest.fixture(scope="module")
def gensim() -> GensimKeyedVectors:
    return to_gensim(WORDS, VECTORS)


@pytest.fixture(params=CLASSES, ids=lambda cls: cls.__name__)
def ours(request) -> KeyedVectors | VectorIndex:
    """A fresh instance of each class, so that tests which add vectors change no one else's."""
    return request.param(WORDS, VECTORS.copy())


def assert_same_ranking(got: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [w for w, _ in got] == [w for w, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5, atol=1e-6)


def tensors(value):
    """``value`` with every numpy array in it (nested in lists and pairs) made a torch tensor."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, tuple):
        return tuple(tensors(item) for item in value)
    if isinstance(value, list):
        return [tensors(item) for item in value]
    return value


# ------------------------------------------------------------------------- vectors as arguments
VECTOR_QUERIES = {
    "one vector": ([QUERY[0]], []),
    "a bare vector": (QUERY[1], None),
    "a word's own vector": ([VECTORS[3]], []),  # w3 is not excluded: it comes first, at cosine 1
    "word and vector": (["w1", QUERY[0]], [QUERY[1]]),
    "weighted": ([(QUERY[0], 2.5), ("w4", 0.5)], ["w9", (QUERY[2], -0.3)]),
    "a matrix of rows": (QUERY, ["w7"]),
    "negative only": (None, [QUERY[2]]),
}


@pytest.mark.parametrize("query", list(VECTOR_QUERIES))
@pytest.mark.parametrize("topn", [5, 300])
@pytest.mark.parametrize("as_tensors", [False, True], ids=["numpy", "torch"])
def test_most_similar_with_vectors_matches_gensim(ours, gensim, query, topn, as_tensors):
    positive, negative = VECTOR_QUERIES[query]
    expected = gensim.most_similar(positive=positive, negative=negative, topn=topn)
    if as_tensors:
        positive, negative = tensors(positive), tensors(negative)
    got = ours.most_similar(positive=positive, negative=negative, topn=topn)
    assert_same_ranking(got, expected)
    if query == "a word's own vector":
        assert got[0][0] == "w3" and got[0][1] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("restrict_vocab", [None, 1, 40, 1000])
@pytest.mark.parametrize("topn", [3, 300])
def test_similar_by_vector_matches_gensim(ours, gensim, restrict_vocab, topn):
    expected = gensim.similar_by_vector(QUERY[0], topn=topn, restrict_vocab=restrict_vocab)
    assert_same_ranking(ours.similar_by_vector(QUERY[0], topn=topn, restrict_vocab=restrict_vocab), expected)
    assert_same_ranking(ours.similar_by_vector(torch.from_numpy(QUERY[0]), topn, restrict_vocab), expected)


def test_restrict_vocab_with_mixed_arguments_matches_gensim(ours, gensim):
    for restrict_vocab in (10, 120):
        positive, negative = [("w3", 1.5), QUERY[0]], ["w150"]  # w150 lies outside the first rows
        expected = gensim.most_similar(positive, negative, topn=20, restrict_vocab=restrict_vocab)
        assert_same_ranking(ours.most_similar(positive, negative, topn=20, restrict_vocab=restrict_vocab), expected)
    # gensim reads restrict_vocab=0 as "no restriction" (``if restrict_vocab:``)
    assert_same_ranking(ours.most_similar(["w3"], topn=8, restrict_vocab=0),
                        gensim.most_similar(["w3"], topn=8, restrict_vocab=0))


def test_topn_none_returns_every_similarity_as_gensim(ours, gensim):
    calls = [
        lambda kv: kv.most_similar(positive=["w1", QUERY[0]], negative=["w2"], topn=None),
        lambda kv: kv.most_similar(positive=["w1"], topn=None, restrict_vocab=50),
        lambda kv: kv.similar_by_word("w8", topn=None),
        lambda kv: kv.similar_by_vector(QUERY[1], topn=None),
        lambda kv: kv.most_similar_cosmul(positive=["w1", "w2"], negative=["w3"], topn=None),
    ]
    for call in calls:
        got, expected = call(ours), call(gensim)
        assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert ours.most_similar(["w1"], topn=0) == [] == ours.similar_by_vector(QUERY[0], topn=0)


# ------------------------------------------------------------------------------ pairs and sets
def test_similarity_distance_and_distances_match_gensim(ours, gensim):
    for first, second in [("w1", "w2"), ("w5", "w5"), ("w299", "w0")]:
        assert ours.similarity(first, second) == pytest.approx(float(gensim.similarity(first, second)), abs=1e-6)
        assert ours.distance(first, second) == pytest.approx(float(gensim.distance(first, second)), abs=1e-6)
    cases = [("w4", ()), ("w4", ["w1", "w4", "w250"]), (QUERY[0], ()), (QUERY[0], ["w9", "w10"]), ("w4", "w5")]
    for source, others in cases:
        got = ours.distances(source, others)
        expected = gensim.distances(source, [others] if isinstance(others, str) else others)
        assert got.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.distances(torch.from_numpy(QUERY[0])), gensim.distances(QUERY[0]), atol=1e-6)


def test_n_similarity_matches_gensim(ours, gensim):
    cases = [(["w1", "w2"], ["w3"]), (["w1"], ["w1"]), (["w5", "w6", "w7"], ["w8", "w9"]),
             (["w5", QUERY[0]], [QUERY[1], QUERY[2], "w100"])]
    for first, second in cases:
        assert ours.n_similarity(first, second) == pytest.approx(float(gensim.n_similarity(first, second)),
                                                                 abs=1e-6)


@pytest.mark.parametrize(("first", "second"), [("w1", "w2"), ("w10", "w200"), ("w3", "w3"), ("w7", "w299")])
def test_closer_than_and_rank_match_gensim(ours, gensim, first, second):
    assert ours.closer_than(first, second) == gensim.closer_than(first, second)
    assert ours.rank(first, second) == gensim.rank(first, second)
    # the rank is one more than the place of ``second`` among the neighbours of ``first``
    neighbours = [word for word, _ in ours.similar_by_word(first, topn=len(WORDS))]
    if first != second:
        assert ours.rank(first, second) == neighbours.index(second) + 1


GET_MEAN_VECTOR = [
    dict(keys=["w1", "w2", "w3"]),
    dict(keys=["w1", "w2", "w3"], pre_normalize=False),
    dict(keys=["w1", "w2", "w3"], post_normalize=True),
    dict(keys=["w1", "w2"], weights=[2.0, -0.5]),
    dict(keys=["w1", "w2"], weights=np.array([0.3, 0.0], dtype=np.float32), pre_normalize=False, post_normalize=True),
    dict(keys=["w1", "missing", "w4"], weights=[1.0, 5.0, 2.0]),  # the missing word's weight goes too
    dict(keys=["w1", QUERY[0], "w4"], weights=[1.0, -2.0, 0.5]),
    dict(keys=QUERY),
    dict(keys=["missing", "absent"]),  # nothing known: the zero vector, as in gensim
]


@pytest.mark.parametrize("kwargs", GET_MEAN_VECTOR, ids=range(len(GET_MEAN_VECTOR)))
def test_get_mean_vector_matches_gensim(ours, gensim, kwargs):
    got, expected = ours.get_mean_vector(**kwargs), gensim.get_mean_vector(**kwargs)
    assert got.dtype == np.float32 and got.shape == (20,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_get_mean_vector_refuses_what_gensim_refuses(ours):
    with pytest.raises(UnknownWordError, match="missing"):
        ours.get_mean_vector(["w1", "missing"], ignore_missing=False)
    with pytest.raises(ValueError, match="2 weights"):
        ours.get_mean_vector(["w1", "w2"], weights=[1.0])
    with pytest.raises(ValueError, match="at least one"):
        ours.get_mean_vector([])


# ------------------------------------------------------------------------------------ changes
def both_after(changes) -> tuple[list, GensimKeyedVectors]:
    """Apply ``changes(kv)`` to each seqlab class and to gensim; return ours and gensim's."""
    ours = [cls(WORDS, VECTORS.copy()) for cls in CLASSES]
    gensim = to_gensim(WORDS, VECTORS.copy())
    for kv in ours:
        kv.most_similar(["w1"])  # fills every cache before the change
    for kv in [*ours, gensim]:
        changes(kv)
    gensim.fill_norms(force=True)  # gensim keeps stale norms after add_vectors; ours must not
    return ours, gensim


NEW = np.random.default_rng(11).standard_normal((4, 20)).astype(np.float32)


@pytest.mark.parametrize("replace", [False, True])
def test_add_vectors_then_queries_match_gensim(replace):
    # two new words, two existing ones (kept or replaced), in one call
    keys = ["new0", "w5", "new1", "w17"]
    ours, gensim = both_after(lambda kv: kv.add_vectors(keys, NEW, replace=replace))
    assert gensim.index_to_key[-2:] == ["new0", "new1"]
    for kv in ours:
        assert kv.words == gensim.index_to_key and len(kv) == 302
        assert kv.index("new1") == gensim.key_to_index["new1"] == 301
        for query in (["new0"], ["w5"], ["w17", "new1"]):
            assert_same_ranking(kv.most_similar(query, topn=10), gensim.most_similar(query, topn=10))
        assert_same_ranking(kv.similar_by_vector(NEW[1], topn=5), gensim.similar_by_vector(NEW[1], topn=5))
        np.testing.assert_allclose(kv.distances("w5"), gensim.distances("w5"), atol=1e-6)
        assert kv.similarity("new0", "w17") == pytest.approx(float(gensim.similarity("new0", "w17")), abs=1e-6)
        np.testing.assert_allclose(kv.get_mean_vector(["w5", "new1"], pre_normalize=False),
                                   gensim.get_mean_vector(["w5", "new1"], pre_normalize=False), rtol=1e-5, atol=1e-6)
        assert_same_ranking(kv.most_similar_cosmul(["new0", "w5"], ["w17"]),
                            gensim.most_similar_cosmul(["new0", "w5"], ["w17"]))


def test_add_vectors_keeps_every_cache_as_a_fresh_build_would():
    keys = ["new0", "w5", "new1"]
    ours, _ = both_after(lambda kv: kv.add_vectors(keys, NEW[:3], replace=True))
    vectors = np.concatenate([VECTORS, NEW[[0, 2]]])
    vectors[5] = NEW[1]
    for kv in ours:
        fresh = type(kv)(WORDS + ["new0", "new1"], vectors)
        assert kv.key_to_index == fresh.key_to_index
        for query in (["new0"], ["w5"], ["w1", "w2"]):
            assert_same_ranking(kv.most_similar(query, topn=302), fresh.most_similar(query, topn=302))
    keyed, index = ours
    np.testing.assert_array_equal(keyed.vectors.numpy(), vectors)
    np.testing.assert_allclose(keyed.unit_vectors().numpy(), index.unit, atol=1e-7)
    np.testing.assert_allclose(index.unit * index.norms[:, None], vectors, rtol=1e-6, atol=1e-6)


def test_add_vectors_extends_known_counts_with_zeros():
    kv = KeyedVectors(WORDS[:3], VECTORS[:3], counts=[30, 20, 10])
    kv.add_vectors(["x", "w0"], NEW[:2])
    assert kv.counts.tolist() == [30, 20, 10, 0]
    assert KeyedVectors(WORDS[:3], VECTORS[:3]).counts is None


def test_add_vector_returns_the_row_holding_the_vector(ours):
    assert ours.add_vector("fresh", NEW[0]) == 300
    assert ours.add_vector("w2", torch.from_numpy(NEW[1])) == 2  # an existing word's vector is replaced
    for word, vector in [("fresh", NEW[0]), ("w2", NEW[1])]:
        assert ours.most_similar([vector], topn=1)[0] == (word, pytest.approx(1.0, abs=1e-6))
    assert len(ours) == 301 and ours.words[-1] == "fresh"
    ours.add_vectors("single", NEW[2])  # one word and one (D,) vector, as gensim allows
    assert ours.index("single") == 301


# ------------------------------------------------------------------------------------- errors
def test_unknown_words_raise_naming_the_word(ours):
    calls = [
        lambda: ours.most_similar(positive=[QUERY[0], "nowhere"]),
        lambda: ours.most_similar(positive=[("nowhere", 2.0)]),
        lambda: ours.distance("w1", "nowhere"),
        lambda: ours.distances("nowhere"),
        lambda: ours.distances(QUERY[0], ["w1", "nowhere"]),
        lambda: ours.closer_than("nowhere", "w1"),
        lambda: ours.rank("w1", "nowhere"),
        lambda: ours.n_similarity(["w1"], ["w2", "nowhere"]),  # gensim 4.4 would skip it silently
        lambda: ours.get_mean_vector(["nowhere"], ignore_missing=False),
    ]
    for call in calls:
        with pytest.raises(UnknownWordError, match="nowhere") as info:
            call()
        assert info.value.word == "nowhere"
        assert isinstance(info.value, KeyError)  # what gensim users catch


def test_empty_arguments(ours):
    with pytest.raises(ValueError, match="at least one"):
        ours.most_similar(positive=[], negative=[])
    with pytest.raises(ZeroDivisionError):  # gensim's error here
        ours.n_similarity([], ["w1"])
    with pytest.raises(ValueError, match="at least one"):
        ours.most_similar_cosmul(negative=["w1"])
    assert ours.closer_than("w1", "w1") == []


@pytest.mark.parametrize("bad", [np.ones(19), np.ones(21), np.ones((2, 20)), np.full(20, np.nan),
                                 torch.ones(7)], ids=["short", "long", "matrix", "nan", "tensor"])
def test_a_wrong_vector_is_a_value_error_and_changes_nothing(ours, bad):
    before = ours.most_similar(["w1"], topn=5)
    calls = [
        lambda: ours.similar_by_vector(bad),
        lambda: ours.most_similar(positive=["w1", (bad, 2.0)]),
        lambda: ours.distances(bad),
        lambda: ours.get_mean_vector(["w1", bad] if bad.ndim == 1 else [bad]),
        lambda: ours.add_vector("new", bad),
        lambda: ours.add_vectors(["new", "w1"], [bad, np.ones(20)]),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"shape|NaN|finite"):
            call()
    assert len(ours) == 300 and "new" not in ours
    assert ours.most_similar(["w1"], topn=5) == before


def test_other_refusals(ours):
    with pytest.raises(DataError, match="'dup'.*twice"):
        ours.add_vectors(["dup", "w1", "dup"], NEW[:3])
    with pytest.raises(ValueError, match=r"3 words need a \(3, 20\) matrix"):
        ours.add_vectors(["a", "b", "c"], NEW[:2])
    with pytest.raises(TypeError, match="str"):
        ours.add_vectors([5], NEW[:1])
    with pytest.raises(TypeError, match="words"):
        ours.most_similar_cosmul(positive=[QUERY[0]])
    with pytest.raises(ValueError, match="restrict_vocab"):
        ours.most_similar(["w1"], restrict_vocab=-3)
    assert len(ours) == 300 and "dup" not in ours and "a" not in ours


# ------------------------------------------------------------------------ Word Mover's Distance
@pytest.fixture
def no_pot(monkeypatch):
    """Force the linprog path even where POT is installed (a None entry makes ``import ot`` fail)."""
    monkeypatch.setitem(sys.modules, "ot", None)


def on_a_line(positions: dict[str, float], cls=KeyedVectors):
    """Words at points of the first axis (2 dims): with norm=False, WMD is the 1-D Wasserstein distance."""
    vectors = np.zeros((len(positions), 2), dtype=np.float32)
    vectors[:, 0] = list(positions.values())
    return cls(list(positions), vectors)


@pytest.mark.usefixtures("no_pot")
@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_wmdistance_worked_example(cls):
    kv = on_a_line({"a": 1.0, "b": 3.0, "c": 2.0, "d": 10.0}, cls)
    # masses 2/3 at 1 and 1/3 at 3 against 1/2 at 2 and 1/2 at 10: the integral of |F1 - F2| is
    # 2/3 on [1, 2) + 1/6 on [2, 3) + 7 * 1/2 on [3, 10) = 13/3
    assert kv.wmdistance(["a", "a", "b"], ["c", "d"], norm=False) == pytest.approx(13 / 3, abs=1e-9)
    # one word each: all the mass moves from a to d
    assert kv.wmdistance(["a"], ["d"], norm=False) == pytest.approx(9.0, abs=1e-9)


@pytest.mark.usefixtures("no_pot")
@pytest.mark.parametrize("seed", range(6))
def test_wmdistance_on_a_line_is_the_wasserstein_distance(seed):
    rng = np.random.default_rng(seed)
    positions = {f"p{i}": float(x) for i, x in enumerate(rng.uniform(-5, 5, 12).astype(np.float32))}
    kv = on_a_line(positions)
    doc1, doc2 = rng.choice(list(positions), 7).tolist(), rng.choice(list(positions), 4).tolist()
    expected = wasserstein_distance([positions[w] for w in doc1], [positions[w] for w in doc2])
    assert kv.wmdistance(doc1, doc2, norm=False) == pytest.approx(expected, rel=1e-7, abs=1e-9)


def reference_emd2(source: np.ndarray, target: np.ndarray, cost: np.ndarray) -> float:
    """A stand-in for POT's ``ot.emd2``: the transport problem over the whole of gensim's (n, n) matrix,
    written out densely (every constraint) for scipy's linprog."""
    n1, n2 = cost.shape
    constraints = np.zeros((n1 + n2, n1 * n2))
    for i in range(n1):
        constraints[i, i * n2:(i + 1) * n2] = 1
    for j in range(n2):
        constraints[n1 + j, j::n2] = 1
    result = linprog(cost.ravel(), A_eq=constraints, b_eq=np.concatenate([source, target]), method="highs")
    assert result.status == 0
    return result.fun


DOCUMENTS = [
    (["w1", "w2", "w3"], ["w4", "w5"]),
    (["w1", "w1", "w2", "w9"], ["w9", "w3", "w3", "w3", "w2"]),
    (["w10", "unknown", "w11"], ["w12", "w10", "absent"]),  # unknown words are left out
    ([f"w{i}" for i in range(0, 40, 3)], [f"w{i}" for i in range(1, 60, 2)]),
    (["w7"], ["w8"]),
]


@pytest.mark.usefixtures("no_pot")
@pytest.mark.parametrize("norm", [True, False])
def test_wmdistance_equals_gensims_formula(ours, gensim, monkeypatch, norm):
    # gensim needs POT, absent here: give its wmdistance the stand-in solver, and ours none (linprog)
    expected = []
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "ot", types.SimpleNamespace(emd2=reference_emd2))
        expected = [gensim.wmdistance(doc1, doc2, norm=norm) for doc1, doc2 in DOCUMENTS]
    for (doc1, doc2), value in zip(DOCUMENTS, expected, strict=True):
        assert ours.wmdistance(doc1, doc2, norm=norm) == pytest.approx(value, rel=1e-5, abs=1e-6)
    # a single word each: gensim's value is the distance of the two (unit) vectors
    single = np.linalg.norm(ours.get_mean_vector(["w7"], pre_normalize=norm)
                            - ours.get_mean_vector(["w8"], pre_normalize=norm))
    assert ours.wmdistance(["w7"], ["w8"], norm=norm) == pytest.approx(single, rel=1e-5)


@pytest.mark.parametrize("norm", [True, False])
def test_wmdistance_equals_gensim_with_pot(ours, gensim, norm):
    """With POT installed (the `wmd` extra, which CI installs): gensim's own wmdistance, POT and all,
    against ours through POT and through scipy's linprog."""
    pytest.importorskip("ot", reason="POT is not installed (pip install -e '.[wmd]')")
    for doc1, doc2 in DOCUMENTS:
        expected = gensim.wmdistance(doc1, doc2, norm=norm)
        assert ours.wmdistance(doc1, doc2, norm=norm) == pytest.approx(expected, rel=1e-6, abs=1e-7)
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(sys.modules, "ot", None)
            assert ours.wmdistance(doc1, doc2, norm=norm) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_wmdistance_uses_pot_when_installed(ours, monkeypatch):
    calls = []

    def emd2(source, target, cost):
        calls.append((source, target, cost))
        return reference_emd2(source, target, cost)

    monkeypatch.setitem(sys.modules, "ot", types.SimpleNamespace(emd2=emd2))
    value = ours.wmdistance(["w1", "w2", "w2"], ["w3"])
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0][0], [1 / 3, 2 / 3])
    assert calls[0][2].shape == (2, 1) and calls[0][2].dtype == np.float64
    assert value == pytest.approx(sum(calls[0][0] * calls[0][2][:, 0]))


@pytest.mark.usefixtures("no_pot")
def test_wmdistance_properties(ours):
    doc1, doc2 = ["w1", "w2", "w2", "w30"], ["w4", "w5", "w1"]
    assert ours.wmdistance(doc1, doc1) == pytest.approx(0.0, abs=1e-12)
    assert ours.wmdistance(doc1, list(reversed(doc1))) == pytest.approx(0.0, abs=1e-12)
    assert ours.wmdistance(doc1, doc2) == pytest.approx(ours.wmdistance(doc2, doc1), rel=1e-9)
    assert ours.wmdistance(doc1, doc2) > 0
    assert ours.wmdistance(doc1, ["unknown"]) == float("inf") == ours.wmdistance([], doc2)
    assert ours.wmdistance(["w3", "w3"], ["w3"]) == 0.0
    assert ours.wmdistance(doc1, doc2 + ["unknown"]) == ours.wmdistance(doc1, doc2)


@pytest.mark.usefixtures("no_pot")
def test_wmdistance_of_words_sharing_one_vector_is_zero():
    # gensim returns inf here (its all-zero cost matrix check); nothing has to move, so 0 is the answer
    kv = KeyedVectors(["a", "b"], np.array([[3.0, 4.0], [6.0, 8.0]], dtype=np.float32))
    assert kv.wmdistance(["a"], ["b"]) == 0.0
    assert kv.wmdistance(["a"], ["b"], norm=False) == pytest.approx(5.0, rel=1e-6)


# ----------------------------------------------------------------------------- the numpy index
def test_vector_index_queries_import_neither_torch_nor_scipy_until_wmdistance():
    script = """
import sys
import numpy as np
from seqlab.embeddings.nearest import VectorIndex
rng = np.random.default_rng(0)
index = VectorIndex([f"w{i}" for i in range(50)], rng.standard_normal((50, 8)))
index.most_similar([("w1", 2.0), rng.standard_normal(8)], ["w2"], topn=3)
index.similar_by_vector(rng.standard_normal(8), topn=None)
index.add_vectors(["x", "w3"], rng.standard_normal((2, 8)), replace=True)
index.n_similarity(["w1", "x"], ["w4"]), index.rank("w1", "w2"), index.get_mean_vector(["w1", "x"])
before = [name for name in ("torch", "scipy") if name in sys.modules]
sys.modules["ot"] = None
index.wmdistance(["w1", "w2"], ["x", "w5"])
print(before, "scipy" in sys.modules, "torch" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "True", "False"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_answers_as_the_cpu(gensim):
    cpu, gpu = KeyedVectors(WORDS, VECTORS), KeyedVectors(WORDS, VECTORS).to("cuda")
    query = [("w1", 2.0), torch.from_numpy(QUERY[0]).cuda()]
    assert_same_ranking(gpu.most_similar(query, ["w2"], topn=20), cpu.most_similar(tensors([("w1", 2.0), QUERY[0]]),
                                                                                  ["w2"], topn=20))
    np.testing.assert_allclose(gpu.similar_by_vector(QUERY[1], topn=None), gensim.similar_by_vector(QUERY[1], None),
                               atol=1e-6)
    for kv in (cpu, gpu):
        kv.add_vectors(["new0", "w5"], NEW[:2], replace=True)
    assert gpu.closer_than("w5", "w9") == cpu.closer_than("w5", "w9")
    np.testing.assert_allclose(gpu.distances("new0"), cpu.distances("new0"), atol=1e-6)
    assert gpu.wmdistance(["w1", "new0"], ["w5"]) == pytest.approx(cpu.wmdistance(["w1", "new0"], ["w5"]))
