"""KeyedVectors against gensim's: queries, word2vec files both ways, the native directory, errors."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors as GensimKeyedVectors

from seqlab.embeddings import keyed_vectors as kv_module
from seqlab.embeddings.keyed_vectors import KeyedVectors, default_vectors_path, load_default_vectors
from seqlab.errors import DataError, UnknownWordError

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")  # gensim's init_sims

UNICODE_WORDS = ["café", "東京", "naïve", "Ärger", "слово", "🙂"]


def to_gensim(words: list[str], vectors: np.ndarray) -> GensimKeyedVectors:
    gkv = GensimKeyedVectors(vectors.shape[1])
    gkv.add_vectors(words, vectors)
    return gkv


@pytest.fixture(scope="module")
def random_pair() -> tuple[KeyedVectors, GensimKeyedVectors]:
    """500 random words x 20 dims (fixed seed), ours and gensim's."""
    rng = np.random.default_rng(1234)
    words = [f"w{i}" for i in range(494)] + UNICODE_WORDS
    vectors = rng.standard_normal((500, 20)).astype(np.float32)
    return KeyedVectors(words, vectors), to_gensim(words, vectors)


@pytest.fixture(scope="module")
def royal() -> KeyedVectors:
    """queen = king - man + woman exactly, among 40 random words of 16 dims."""
    rng = np.random.default_rng(7)
    words = ["king", "man", "woman", "queen"] + [f"x{i}" for i in range(40)]
    vectors = rng.standard_normal((len(words), 16)).astype(np.float32)
    vectors[:3] /= np.linalg.norm(vectors[:3], axis=1, keepdims=True)  # so the offset survives normalisation
    vectors[3] = vectors[0] - vectors[1] + vectors[2]
    return KeyedVectors(words, vectors)


def assert_same_ranking(ours: list[tuple[str, float]], theirs: list[tuple[str, float]]) -> None:
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- queries
QUERIES = [
    (["w1"], []),
    (["w1", "w2"], ["w3"]),
    (["w10", "café"], ["東京", "w11"]),
    ([], ["w5"]),
    ([("w4", 2.0), "w7"], [("w9", -0.5)]),
]


@pytest.mark.parametrize(("positive", "negative"), QUERIES)
@pytest.mark.parametrize("topn", [1, 10, 499])
def test_most_similar_matches_gensim(random_pair, positive, negative, topn):
    ours, gensim = random_pair
    expected = gensim.most_similar(positive=positive, negative=negative, topn=topn)
    assert_same_ranking(ours.most_similar(positive=positive, negative=negative, topn=topn), expected)


@pytest.mark.parametrize("restrict_vocab", [5, 50, 1000])
def test_most_similar_restrict_vocab_matches_gensim(random_pair, restrict_vocab):
    ours, gensim = random_pair
    expected = gensim.most_similar(
        positive=["w3", "w60"], negative=["w2"], topn=8, restrict_vocab=restrict_vocab
    )
    got = ours.most_similar(positive=["w3", "w60"], negative=["w2"], topn=8, restrict_vocab=restrict_vocab)
    assert_same_ranking(got, expected)


@pytest.mark.parametrize(
    ("positive", "negative"), [(["w1"], []), (["w1", "w2"], ["w3"]), (["w8", "слово"], ["🙂"])]
)
def test_most_similar_cosmul_matches_gensim(random_pair, positive, negative):
    ours, gensim = random_pair
    expected = gensim.most_similar_cosmul(positive=positive, negative=negative, topn=12)
    assert_same_ranking(ours.most_similar_cosmul(positive=positive, negative=negative, topn=12), expected)


def test_cosmul_epsilon_matters_when_a_negative_cosine_is_minus_one():
    # "anti" points exactly away from "neg": its denominator is (1 - 1) / 2 + 1e-6, so it wins by far
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((30, 8)).astype(np.float32)
    words = ["pos", "neg", "anti"] + [f"r{i}" for i in range(27)]
    vectors[2] = -vectors[1]
    ours, gensim = KeyedVectors(words, vectors), to_gensim(words, vectors)
    got = ours.most_similar_cosmul(positive=["pos"], negative=["neg"], topn=5)
    expected = gensim.most_similar_cosmul(positive=["pos"], negative=["neg"], topn=5)
    assert got[0][0] == expected[0][0] == "anti"
    # (1 + cos) / 2 is ~1e-8 here, below float32 rounding of the cosine, so only the epsilon's scale is exact
    assert got[0][1] == pytest.approx(expected[0][1], rel=0.2)
    assert_same_ranking(got[1:], expected[1:])


def test_similarity_doesnt_match_and_similar_by_word_match_gensim(random_pair):
    ours, gensim = random_pair
    for first, second in [("w1", "w2"), ("café", "東京"), ("w3", "w3")]:
        assert ours.similarity(first, second) == pytest.approx(
            float(gensim.similarity(first, second)), abs=1e-6
        )
    for group in (["w1", "w2", "w3", "w4"], ["café", "naïve", "w100", "w200", "w300"], ["w9", "w9", "w10"]):
        assert ours.doesnt_match(group) == gensim.doesnt_match(group)
    assert_same_ranking(ours.similar_by_word("w42", topn=7), gensim.similar_by_word("w42", topn=7))


def test_query_words_are_excluded(random_pair):
    ours, gensim = random_pair
    # the nearest word to the mean of w1 and w2 is w1 or w2 themselves; both must be skipped
    got = ours.most_similar(positive=["w1", "w2"], topn=499)
    assert {"w1", "w2"}.isdisjoint(w for w, _ in got)
    assert len(got) == 498
    assert_same_ranking(got, gensim.most_similar(positive=["w1", "w2"], topn=499))
    assert "w5" not in [w for w, _ in ours.similar_by_word("w5", topn=20)]


def test_analogy_finds_the_constructed_answer(royal):
    for method in ("add", "mul"):
        answers = royal.analogy("king", "man", "woman", topn=3, method=method)
        assert answers[0][0] == "queen"
        if method == "add":
            assert answers[0][1] == pytest.approx(1.0, abs=1e-6)
        assert {"king", "man", "woman"}.isdisjoint(w for w, _ in answers)
    gensim = to_gensim(royal.words, royal.vectors.numpy())
    expected = gensim.most_similar(positive=["king", "woman"], negative=["man"], topn=5)
    assert_same_ranking(royal.analogy("king", "man", "woman", topn=5), expected)
    expected = gensim.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=5)
    assert_same_ranking(royal.analogy("king", "man", "woman", topn=5, method="mul"), expected)


def test_unknown_words_raise_naming_the_word(random_pair):
    ours, _ = random_pair
    calls = [
        lambda: ours.most_similar(positive=["w1", "nowhere"]),
        lambda: ours.most_similar_cosmul(positive=["w1"], negative=["nowhere"]),
        lambda: ours.analogy("w1", "nowhere", "w2"),
        lambda: ours.similarity("nowhere", "w1"),
        lambda: ours.doesnt_match(["w1", "nowhere", "w2"]),
        lambda: ours["nowhere"],
        lambda: ours.index("nowhere"),
    ]
    for call in calls:
        with pytest.raises(UnknownWordError, match="nowhere") as info:
            call()
        assert info.value.word == "nowhere"


def test_vocabulary_basics(random_pair):
    ours, gensim = random_pair
    assert len(ours) == 500 and ours.vector_size == 20
    assert "café" in ours and "cafe" not in ours
    assert ours.index("café") == ours.key_to_index["café"] == 494
    np.testing.assert_array_equal(ours["w7"], gensim["w7"])
    assert ours.vectors.dtype == torch.float32 and ours.vectors.device.type == "cpu"
    assert ours.most_similar(positive=["w1"], topn=0) == []


def test_duplicate_words_are_a_data_error():
    with pytest.raises(DataError, match="'a'"):
        KeyedVectors(["a", "b", "a"], np.zeros((3, 2)))


def test_unit_vectors_follow_in_place_changes(royal):
    kv = KeyedVectors(royal.words, royal.vectors.clone())
    assert kv.analogy("king", "man", "woman", topn=1)[0][0] == "queen"
    kv.vectors[3] = -kv.vectors[3]  # in place: the cached unit matrix must be rebuilt
    assert kv.analogy("king", "man", "woman", topn=1)[0][0] != "queen"
    kv.vectors = royal.vectors.clone()
    assert kv.analogy("king", "man", "woman", topn=1)[0][0] == "queen"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_queries_equal_cpu_queries(random_pair):
    ours, _ = random_pair
    gpu = KeyedVectors(ours.words, ours.vectors).to("cuda")
    assert gpu.unit_vectors().device.type == "cuda"
    assert_same_ranking(
        gpu.most_similar(["w1", "w2"], ["w3"], topn=20), ours.most_similar(["w1", "w2"], ["w3"], topn=20)
    )
    assert_same_ranking(
        gpu.most_similar_cosmul(["w1", "w2"], ["w3"]), ours.most_similar_cosmul(["w1", "w2"], ["w3"])
    )
    assert gpu.doesnt_match(["w1", "w2", "w3"]) == ours.doesnt_match(["w1", "w2", "w3"])


# ------------------------------------------------------------------------------- files
@pytest.mark.parametrize("name", ["v.txt", "v.vec", "v.bin", "v.txt.gz"])
def test_ours_to_gensim_and_back(tmp_path, random_pair, name):
    ours, _ = random_pair
    path = tmp_path / name
    ours.save(path)
    gensim = GensimKeyedVectors.load_word2vec_format(str(path), binary=name.endswith(".bin"))
    assert gensim.index_to_key == ours.words
    np.testing.assert_array_equal(gensim.vectors, ours.vectors.numpy())  # exact, float32 round trip
    again = KeyedVectors.load(path)
    assert again.words == ours.words and torch.equal(again.vectors, ours.vectors)
    assert again.counts is None
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_to_ours(tmp_path, random_pair, binary):
    ours, gensim = random_pair
    path = tmp_path / ("g.bin" if binary else "g.txt")
    gensim.save_word2vec_format(str(path), binary=binary)
    loaded = KeyedVectors.load(path)
    assert loaded.words == ours.words
    np.testing.assert_array_equal(loaded.vectors.numpy(), gensim.vectors)
    assert loaded.counts is None
    limited = KeyedVectors.load(path, limit=7)
    assert limited.words == ours.words[:7] and torch.equal(limited.vectors, ours.vectors[:7])


def test_binary_layout_is_word2vec_c(tmp_path):
    path = tmp_path / "v.bin"
    KeyedVectors(["東京", "b"], np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)).save(path)
    expected = b"2 2\n" + "東京 ".encode() + np.array([1.0, -2.0], "<f4").tobytes() + b"\n"
    expected += b"b " + np.array([0.5, 3.0], "<f4").tobytes() + b"\n"
    assert path.read_bytes() == expected


def test_word2vec_c_text_with_trailing_spaces_loads(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(
        "2 3\nthe 0.100000 -0.200000 0.300000 \nnaïve 1.000000 2.000000 3.000000 \n", encoding="utf-8"
    )
    kv = KeyedVectors.load(path)
    assert kv.words == ["the", "naïve"]
    np.testing.assert_allclose(kv["the"], [0.1, -0.2, 0.3], rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_native_round_trip(tmp_path, random_pair, dtype):
    ours, _ = random_pair
    counts = np.arange(len(ours), 0, -1) * 3
    kv = KeyedVectors(ours.words, ours.vectors, counts)
    path = tmp_path / "vectors"
    kv.save(path, dtype=dtype)
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "vectors.npy", "vocab.tsv"]
    assert np.load(path / "vectors.npy").dtype == np.dtype(dtype)
    meta = json.loads((path / "meta.json").read_text())
    assert (meta["vocab_size"], meta["vector_size"], meta["dtype"]) == (500, 20, dtype)
    assert (path / "vocab.tsv").read_text(encoding="utf-8").splitlines()[494] == f"café\t{counts[494]}"
    loaded = KeyedVectors.load(path)
    assert loaded.words == kv.words and loaded.vectors.dtype == torch.float32
    np.testing.assert_array_equal(loaded.counts, counts)
    if dtype == "float32":
        assert torch.equal(loaded.vectors, kv.vectors)
    else:
        torch.testing.assert_close(loaded.vectors, kv.vectors, rtol=1e-3, atol=1e-3)
        assert loaded.most_similar(["w1"], topn=3)[0][0] == kv.most_similar(["w1"], topn=3)[0][0]
    limited = KeyedVectors.load(path, limit=10)
    assert limited.words == kv.words[:10] and limited.counts.tolist() == counts[:10].tolist()


def test_native_without_counts_and_overwrite(tmp_path, royal):
    path = tmp_path / "v"
    royal.save(path)
    assert KeyedVectors.load(path).counts is None
    smaller = KeyedVectors(royal.words[:4], royal.vectors[:4], [4, 3, 2, 1])
    smaller.save(path)  # replaces the old directory as a whole
    loaded = KeyedVectors.load(path)
    assert loaded.words == royal.words[:4] and loaded.counts.tolist() == [4, 3, 2, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]


def test_native_save_refuses_to_replace_a_foreign_directory(tmp_path, royal):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    with pytest.raises(DataError, match="mine"):
        royal.save(precious)
    assert (precious / "thesis.tex").read_text() == "do not delete"


def test_explicit_format_overrides_the_extension(tmp_path, royal):
    path = tmp_path / "vectors.data"
    royal.save(path, fmt="text")
    assert path.read_text().startswith("44 16\n")
    assert KeyedVectors.load(path, fmt="text").words == royal.words


def write(path, data: bytes):
    path.write_bytes(data)
    return path


MALFORMED_TEXT = {
    "bad header": (b"two 3\na 1 2 3\n", "line 1"),
    "short header": (b"2\na 1 2 3\n", "line 1"),
    "too few values": (b"2 3\na 1 2 3\nb 1 2\n", "line 3"),
    "too many values": (b"1 3\na 1 2 3 4\n", "line 2"),
    "not a number": (b"1 3\na 1 x 3\n", "line 2"),
    "bad utf-8": (b"2 2\na 1 2\n\xff\xfe 1 2\n", "line 3"),
    "truncated": (b"3 2\na 1 2\nb 1 2\n", "line 4"),
    "duplicate word": (b"2 2\na 1 2\na 3 4\n", "line 3"),
}


@pytest.mark.parametrize("case", list(MALFORMED_TEXT))
def test_malformed_text_files_name_file_and_line(tmp_path, case):
    data, where = MALFORMED_TEXT[case]
    path = write(tmp_path / "bad.txt", data)
    with pytest.raises(DataError, match="bad.txt") as info:
        KeyedVectors.load(path)
    assert where in str(info.value)


def test_malformed_binary_files(tmp_path):
    row = np.ones(3, "<f4").tobytes()
    truncated = write(tmp_path / "t.bin", b"2 3\na " + row + b"\nb " + row[:-2])
    with pytest.raises(DataError, match=r"t\.bin.*truncated"):
        KeyedVectors.load(truncated)
    bad_word = write(tmp_path / "u.bin", b"1 3\n\xff\xfe " + row)
    with pytest.raises(DataError, match=r"u\.bin.*word 1.*UTF-8"):
        KeyedVectors.load(bad_word)
    bad_header = write(tmp_path / "h.bin", b"\x00\x01garbage\n")
    with pytest.raises(DataError, match=r"h\.bin.*line 1"):
        KeyedVectors.load(bad_header)


def test_gzip_text_and_missing_files(tmp_path, royal):
    path = tmp_path / "v.vec.gz"
    royal.save(path)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        assert fh.readline() == "44 16\n"
    assert KeyedVectors.load(path).words == royal.words
    for missing in ("nope.txt", "nope.bin", "nope_dir"):
        with pytest.raises(DataError, match="nope"):
            KeyedVectors.load(tmp_path / missing)
    (tmp_path / "half").mkdir()
    with pytest.raises(DataError, match="meta.json"):
        KeyedVectors.load(tmp_path / "half")


def test_words_that_a_format_cannot_hold(tmp_path):
    with pytest.raises(DataError, match="two words"):
        KeyedVectors(["two words"], np.zeros((1, 2))).save(tmp_path / "v.txt")
    with pytest.raises(DataError, match="tab"):
        KeyedVectors(["a\tb"], np.zeros((1, 2))).save(tmp_path / "v")


def test_default_vectors(tmp_path, monkeypatch, royal):
    assert default_vectors_path().name == "default_vectors"
    monkeypatch.setattr(kv_module, "default_vectors_path", lambda: tmp_path / "default_vectors")
    with pytest.raises(DataError, match="default vectors not found.*seqlab embed train"):
        load_default_vectors()
    royal.save(tmp_path / "default_vectors")
    assert load_default_vectors().words == royal.words
