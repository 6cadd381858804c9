"""Batched analogy and similarity scores equal gensim's evaluate_word_analogies, evaluate_word_pairs."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors as GensimKeyedVectors

from seqlab.embeddings.evaluate import evaluate_analogies, evaluate_similarity, gensim_test_data
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import DataError

pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")

QUESTIONS = gensim_test_data("questions-words.txt")
WORDSIM = gensim_test_data("wordsim353.tsv")
SIMLEX = gensim_test_data("simlex999.txt")
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
# sections whose pairs get a common offset, so that b - a + c lands near d for some questions
PLANTED = ("capital-common-countries", "family", "gram3-comparative", "gram8-plural")


@pytest.fixture(autouse=True)
def quiet_gensim():
    logging.getLogger("gensim").setLevel(logging.WARNING)


def read_questions(path: Path) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    words: dict[str, None] = {}
    pairs: dict[str, list[tuple[str, str]]] = {}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(": "):
            section = line[2:].strip()
            continue
        a, b, c, d = line.split()
        words.update(dict.fromkeys((a, b, c, d)))
        pairs.setdefault(section, []).extend([(a, b), (c, d)])
    return list(words), pairs


def read_pair_words(*paths: Path) -> list[str]:
    words: dict[str, None] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                words.update(dict.fromkeys(line.split("\t")[:2]))
    return list(words)


@pytest.fixture(scope="module")
def pair() -> tuple[KeyedVectors, GensimKeyedVectors]:
    """Random vectors for the words of questions-words.txt, wordsim353 and most of simlex999, with

    * offsets planted in a few sections (accuracy neither 0 nor 1),
    * lower-case variants of 150 words, half before and half after the original (case-insensitive rules),
    * every 40th question word and every 6th similarity word left out (skipped questions and pairs),
    * filler words,
    * the whole vocabulary shuffled (restrict_vocab cuts real words).
    """
    rng = np.random.default_rng(2024)
    words, pairs = read_questions(QUESTIONS)
    similarity_words = read_pair_words(WORDSIM, SIMLEX)
    variants = [w.lower() for w in words if w.lower() != w][:150]
    kept = [w for i, w in enumerate(words) if i % 40 != 39]
    similarity_words = [w for i, w in enumerate(similarity_words) if i % 6 != 5]
    vocab = list(dict.fromkeys(kept + similarity_words + variants))
    vocab += [f"filler{i}" for i in range(300)]
    vocab = [vocab[i] for i in rng.permutation(len(vocab))]
    vectors = {w: rng.standard_normal(32).astype(np.float32) for w in vocab + words}
    for section in PLANTED:
        offset = 0.8 * rng.standard_normal(32).astype(np.float32)
        for x, y in sorted(set(pairs[section])):
            vectors[y] = vectors[x] + offset + 0.3 * rng.standard_normal(32).astype(np.float32)
    matrix = np.stack([vectors[w] for w in vocab])
    gensim = GensimKeyedVectors(32)
    gensim.add_vectors(vocab, matrix)
    return KeyedVectors(vocab, matrix), gensim


@pytest.fixture(scope="module")
def small_questions(tmp_path_factory) -> Path:
    """Every 6th question of each section of questions-words.txt (keeps gensim's side of the tests fast)."""
    lines, kept = [], 0
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.startswith(": "):
            lines.append(line)
        else:
            kept += 1
            if kept % 6 == 0:
                lines.append(line)
    path = tmp_path_factory.mktemp("questions") / "small-questions.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def gensim_counts(sections: list[dict]) -> list[tuple[str, int, int]]:
    return [(s["section"], len(s["correct"]), len(s["incorrect"])) for s in sections]


def our_counts(result) -> list[tuple[str, int, int]]:
    return [(s.section, s.correct, s.incorrect) for s in result.sections] + [
        ("Total accuracy", result.correct, result.incorrect)
    ]


def test_analogies_equal_gensim_on_questions_words(pair):
    ours, gensim = pair
    result = evaluate_analogies(ours, QUESTIONS)
    score, sections = gensim.evaluate_word_analogies(str(QUESTIONS))
    assert 0.02 < score < 0.98, "the planted offsets should make some, not all, answers right"
    assert our_counts(result) == gensim_counts(sections)
    assert result.accuracy == pytest.approx(score)
    assert result.total_questions == 19544
    assert result.skipped == 19544 - result.correct - result.incorrect > 0
    assert len(result.sections) == 14


@pytest.mark.parametrize(
    "options",
    [
        {"restrict_vocab": 800},
        {"restrict_vocab": 3000, "case_insensitive": False},
        {"case_insensitive": False},
        {"dummy4unknown": True},
        {"restrict_vocab": 500, "dummy4unknown": True, "case_insensitive": False},
    ],
    ids=repr,
)
def test_analogy_options_equal_gensim(pair, small_questions, options):
    ours, gensim = pair
    result = evaluate_analogies(ours, small_questions, **options)
    score, sections = gensim.evaluate_word_analogies(str(small_questions), **options)
    assert our_counts(result) == gensim_counts(sections)
    assert result.accuracy == pytest.approx(score)
    if options.get("dummy4unknown"):
        assert result.skipped == 0 and result.correct + result.incorrect == result.total_questions


def test_small_batches_change_nothing(pair, small_questions):
    ours, _ = pair
    whole = evaluate_analogies(ours, small_questions)
    assert our_counts(evaluate_analogies(ours, small_questions, batch_size=300)) == our_counts(whole)


def test_cosmul_analogies_equal_gensim_cosmul(pair, small_questions):
    ours, gensim = pair

    def cosmul(positive, negative, topn, restrict_vocab):  # gensim 4.4's evaluator only knows 3CosAdd
        return gensim.most_similar_cosmul(positive=positive, negative=negative, topn=topn)

    gensim.most_similar = cosmul
    try:
        score, sections = gensim.evaluate_word_analogies(str(small_questions), restrict_vocab=None)
    finally:
        del gensim.most_similar
    result = evaluate_analogies(ours, small_questions, restrict_vocab=None, method="mul")
    assert our_counts(result) == gensim_counts(sections)
    assert our_counts(result) != our_counts(evaluate_analogies(ours, small_questions, restrict_vocab=None))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_evaluation_equals_cpu(pair, small_questions):
    ours, _ = pair
    gpu = KeyedVectors(ours.words, ours.vectors).to("cuda")
    for method in ("add", "mul"):
        assert our_counts(evaluate_analogies(gpu, small_questions, method=method)) == our_counts(
            evaluate_analogies(ours, small_questions, method=method)
        )
    assert evaluate_similarity(gpu, WORDSIM).spearman == pytest.approx(
        evaluate_similarity(ours, WORDSIM).spearman
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_case_insensitive_uses_the_first_case_variant(tmp_path):
    # "paris" comes first and has the right vector; "Paris" (later) does not
    words = ["paris", "france", "rome", "italy", "Paris", "other"]
    vectors = np.array(
        [[1, 1, 0], [1, 0, 0], [0, 1, 0.1], [0, 0, 0.1], [-1, -1, 1], [0.3, -1, 0]], np.float32
    )
    vectors[0] = vectors[1] - vectors[3] + vectors[2]  # france - italy + rome = paris
    kv = KeyedVectors(words, vectors)
    questions = write(tmp_path / "q.txt", ": capitals\nItaly Rome France Paris\nitaly rome france Paris\n")
    insensitive = evaluate_analogies(kv, questions)
    assert (insensitive.correct, insensitive.incorrect, insensitive.skipped) == (2, 0, 0)
    sensitive = evaluate_analogies(kv, questions, case_insensitive=False)
    assert (sensitive.correct, sensitive.incorrect, sensitive.skipped) == (0, 1, 1)
    gensim = GensimKeyedVectors(3)
    gensim.add_vectors(words, vectors)
    for flag, result in ((True, insensitive), (False, sensitive)):
        assert our_counts(result) == gensim_counts(
            gensim.evaluate_word_analogies(str(questions), case_insensitive=flag)[1]
        )


def test_case_variants_crowding_the_top_five_equal_gensim(tmp_path):
    # 4 words x 4 case variants, each word's variants clustered: the top 5 answers for b - a + c are mostly
    # variants of b and c (skipped by the upper-case comparison); when all 5 are, gensim keeps the last one
    # as its prediction, which is right when d is b or c
    rng = np.random.default_rng(9)
    stems = ["ab", "cd", "ef", "gh"]
    words, rows = [], []
    for stem in stems:
        center = rng.standard_normal(8)
        for variant in (stem, stem.upper(), stem.capitalize(), stem[0] + stem[1].upper()):
            words.append(variant)
            rows.append(center + 0.1 * rng.standard_normal(8))
    words += [f"far{i}" for i in range(20)]
    rows += list(rng.standard_normal((20, 8)))
    order = rng.permutation(len(words))
    words, vectors = [words[i] for i in order], np.asarray(rows, dtype=np.float32)[order]
    lines = [": all"] + [f"{a} {b} {c} {d}" for a in stems for b in stems for c in stems for d in stems]
    questions = write(tmp_path / "q.txt", "\n".join(lines) + "\n")
    gensim = GensimKeyedVectors(8)
    gensim.add_vectors(words, vectors)
    result = evaluate_analogies(KeyedVectors(words, vectors), questions)
    assert our_counts(result) == gensim_counts(gensim.evaluate_word_analogies(str(questions))[1])
    assert 0 < result.correct < 256


def test_skipped_invalid_and_empty_sections(tmp_path):
    kv = KeyedVectors(["a", "b", "c", "d", "e"], np.eye(5, dtype=np.float32))
    text = ": one\na b c d\na b c unknown\nonly three words\n\n: two\n: three\nb c d e\n"
    result = evaluate_analogies(kv, write(tmp_path / "q.txt", text))
    assert result.total_questions == 3  # the 3-word and the blank line are not questions
    assert result.skipped == 1
    assert [s.section for s in result.sections] == ["one", "two", "three"]
    assert result.sections[1].accuracy == 0.0
    summary = result.to_dict()
    assert set(summary) == {"file", "accuracy", "correct", "questions_used", "questions_skipped", "sections"}
    assert summary["questions_used"] == 2 and summary["questions_skipped"] == 1
    assert set(summary["sections"][0]) == {"section", "correct", "incorrect", "accuracy"}
    json.dumps(summary)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b c d\n: s\n", r"q\.txt: line 1: missing ': section' header"),
        ("\n: s\na b c d\n", r"q\.txt: line 1: missing"),
        (": s\na b c d\n\xff\n", None),
        ("", r"q\.txt.*no ': section' header"),
    ],
)
def test_bad_analogy_files(tmp_path, text, message):
    kv = KeyedVectors(["a", "b", "c", "d"], np.eye(4, dtype=np.float32))
    path = tmp_path / "q.txt"
    if message is None:
        path.write_bytes(b": s\na b c d\n\xff\xfe x y z\n")
        message = r"q\.txt: line 3: not valid UTF-8"
    else:
        write(path, text)
    with pytest.raises(DataError, match=message):
        evaluate_analogies(kv, path)
    with pytest.raises(DataError, match="missing.txt"):
        evaluate_analogies(kv, tmp_path / "missing.txt")


# ---------------------------------------------------------------------------- similarity
@pytest.mark.parametrize("path", [WORDSIM, SIMLEX], ids=lambda p: p.name)
@pytest.mark.parametrize(
    "options",
    [{}, {"restrict_vocab": 1500}, {"case_insensitive": False}, {"dummy4unknown": True}],
    ids=repr,
)
def test_similarity_equals_gensim(pair, path, options):
    ours, gensim = pair
    result = evaluate_similarity(ours, path, **options)
    pearson, spearman, oov_percent = gensim.evaluate_word_pairs(str(path), **options)
    assert result.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert result.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert 100 * result.oov_ratio == pytest.approx(oov_percent)
    assert result.pairs_used > 10 and 0 < result.oov_ratio < 1
    assert set(result.to_dict()) == {
        "file",
        "spearman",
        "pearson",
        "pairs_used",
        "pairs_skipped",
        "oov_ratio",
    }


def test_similarity_counts_and_whitespace_files(tmp_path):
    rng = np.random.default_rng(3)
    words = ["old", "new", "smart", "clever", "hard", "easy"]
    kv = KeyedVectors(words, rng.standard_normal((6, 5)).astype(np.float32))
    rows = [("old", "new", 1.5), ("smart", "clever", 9.0), ("hard", "easy", 0.9), ("old", "smart", 3.0)]
    tabbed = "# comment\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows) + "old\tunknown\t2.0\nbad line\n"
    spaced = "".join(f"{a} {b} {s}\n" for a, b, s in rows) + "old unknown 2.0\n"
    first = evaluate_similarity(kv, write(tmp_path / "tab.txt", tabbed))
    second = evaluate_similarity(kv, write(tmp_path / "space.txt", spaced))
    for result in (first, second):
        assert (result.pairs_used, result.pairs_skipped) == (4, 1)
        assert result.oov_ratio == pytest.approx(0.2)
    assert first.spearman == pytest.approx(second.spearman) and first.pearson == pytest.approx(second.pearson)
    cosines = [kv.similarity(a, b) for a, b, _ in rows]
    gold = [s for _, _, s in rows]
    assert first.pearson == pytest.approx(np.corrcoef(gold, cosines)[0, 1], abs=1e-6)


def test_bad_similarity_files(tmp_path):
    kv = KeyedVectors(["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(DataError, match=r"empty\.txt.*empty"):
        evaluate_similarity(kv, write(tmp_path / "empty.txt", ""))
    with pytest.raises(DataError, match=r"junk\.txt.*no usable"):
        evaluate_similarity(kv, write(tmp_path / "junk.txt", "# only\nnot a pair at all\n"))
    with pytest.raises(DataError, match=r"oov\.txt.*missing from the vectors"):
        evaluate_similarity(kv, write(tmp_path / "oov.txt", "x\ty\t1.0\n"))
    (tmp_path / "bytes.txt").write_bytes(b"a\tb\t1.0\n\xff\tb\t2.0\n")
    with pytest.raises(DataError, match=r"bytes\.txt: line 2"):
        evaluate_similarity(kv, tmp_path / "bytes.txt")
    with pytest.raises(DataError, match="nothing.txt"):
        evaluate_similarity(kv, tmp_path / "nothing.txt")


def test_gensim_test_data():
    assert gensim_test_data("lee_background.cor").is_file()
    with pytest.raises(DataError, match="no-such-file"):
        gensim_test_data("no-such-file.txt")


@pytest.mark.data
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"needs the shared data folder at {SHARED_DATA}")
def test_simlex_from_shared_data_equals_gensim(pair):
    path = SHARED_DATA / "wordsim" / "EN-SIMLEX-999.txt"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    ours, gensim = pair
    result = evaluate_similarity(ours, path)
    pearson, spearman, oov_percent = gensim.evaluate_word_pairs(str(path))
    assert result.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert result.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert 100 * result.oov_ratio == pytest.approx(oov_percent)


@pytest.mark.parametrize("score", ["nan", "inf", "-inf", "NaN"])
def test_a_non_finite_pair_score_names_the_line(tmp_path, score):
    kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    path = write(tmp_path / "pairs.tsv", f"a\tb\t1.0\nb\tc\t{score}\na\tc\t2.0\n")
    with pytest.raises(DataError, match=r"pairs\.tsv: line 2: the score of b c is .*, not a finite number"):
        evaluate_similarity(kv, path)


def test_a_correlation_needs_two_different_scores(tmp_path):
    kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    for text, message in [("a\tb\t1.0\n", "the 1 usable word pair(s) all have the score 1.0"),
                          ("a\tb\t3.0\nb\tc\t3.0\n", "the 2 usable word pair(s) all have the score 3.0")]:
        with pytest.raises(DataError, match=re.escape(f"pairs.tsv: {message}")):
            evaluate_similarity(kv, write(tmp_path / "pairs.tsv", text))


@pytest.mark.parametrize("flags,options", [([], {}), (["--case-sensitive", "--dummy4unknown"],
                                                      {"case_insensitive": False, "dummy4unknown": True})],
                         ids=["default", "case-sensitive,dummy4unknown"])
def test_cli_similarity_with_a_delimiter_equals_gensim(pair, tmp_path, flags, options):
    """`seqlab embed eval --similarity F --delimiter ,` reads a comma-separated file as gensim's
    evaluate_word_pairs(delimiter=",") does, with the same scores."""
    from click.testing import CliRunner

    from seqlab.cli.main import main

    ours, gensim = pair
    vectors = ours.save(tmp_path / "vectors.txt")
    rows = [line.split("\t")[:3] for line in SIMLEX.read_text(encoding="utf-8").splitlines()[:300]
            if not line.startswith("#") and len(line.split("\t")) >= 3]
    commas = tmp_path / "pairs.csv"
    commas.write_text("".join(f"{a},{b.title() if i % 7 == 0 else b},{s}\n" for i, (a, b, s) in enumerate(rows)))
    done = CliRunner().invoke(main, ["embed", "eval", str(vectors), "--similarity", str(commas), "--delimiter", ",",
                                     *flags, "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)["similarity"][0]
    pearson, spearman, oov_percent = gensim.evaluate_word_pairs(str(commas), delimiter=",", **options)
    assert result["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)
    assert 100 * result["oov_ratio"] == pytest.approx(oov_percent)
    assert result["pairs_used"] > 100
    done = CliRunner().invoke(main, ["embed", "eval", str(vectors), "--similarity", str(commas), "--delimiter", ""])
    assert done.exit_code == 2 and "--delimiter is empty" in done.output
