"""``seqlab analogy``, ``seqlab similar`` and ``seqlab embed eval``, invoked through Click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from seqlab.cli.embed_eval import eval_command
from seqlab.cli.query import analogy, similar
from seqlab.embeddings import keyed_vectors as kv_module
from seqlab.embeddings import nearest as nearest_module
from seqlab.embeddings.evaluate import evaluate_analogies, evaluate_similarity, gensim_test_data
from seqlab.embeddings.keyed_vectors import KeyedVectors

QUESTIONS = gensim_test_data("questions-words.txt")
WORDSIM = gensim_test_data("wordsim353.tsv")


@pytest.fixture(scope="module")
def royal() -> KeyedVectors:
    """queen = king - man + woman exactly; 'königin' is a non-ASCII near-synonym of queen."""
    rng = np.random.default_rng(11)
    words = ["king", "man", "woman", "queen", "königin"] + [f"x{i}" for i in range(60)]
    vectors = rng.standard_normal((len(words), 16)).astype(np.float32)
    vectors[:3] /= np.linalg.norm(vectors[:3], axis=1, keepdims=True)  # so the offset survives normalisation
    vectors[3] = vectors[0] - vectors[1] + vectors[2]
    vectors[4] = vectors[3] + 0.05 * rng.standard_normal(16).astype(np.float32)
    return KeyedVectors(words, vectors)


@pytest.fixture(scope="module")
def royal_dir(royal, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("vectors") / "royal"
    royal.save(path)
    return str(path)


@pytest.fixture(scope="module")
def eval_vectors(tmp_path_factory) -> str:
    """Random vectors (word2vec text) for the words of questions-words.txt and wordsim353, a few left out."""
    words: dict[str, None] = {}
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if not line.startswith(":"):
            words.update(dict.fromkeys(line.split()))
    for line in WORDSIM.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(dict.fromkeys(line.split("\t")[:2]))
    vocab = [w for i, w in enumerate(words) if i % 10 != 9]
    rng = np.random.default_rng(5)
    path = tmp_path_factory.mktemp("eval") / "vectors.txt"
    KeyedVectors(vocab, rng.standard_normal((len(vocab), 24)).astype(np.float32)).save(path)
    return str(path)


def invoke(command, args: list[str]):
    return CliRunner().invoke(command, [*args, "--device", "cpu"])


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqlab: error:"), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]
    assert result.stdout == ""


def test_analogy_prints_words_and_scores(royal, royal_dir):
    result = invoke(analogy, ["king", "man", "woman", "--vectors", royal_dir, "-n", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    expected = royal.analogy("king", "man", "woman", topn=3)
    assert lines == [f"{word}\t{score:.4f}" for word, score in expected]
    assert lines[0].startswith("queen\t") and lines[1].startswith("königin\t")


@pytest.mark.parametrize("method", ["add", "mul"])
def test_analogy_json(royal, royal_dir, method):
    result = invoke(analogy, ["king", "man", "woman", "--vectors", royal_dir, "--method", method, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 10 and all(set(row) == {"word", "score"} for row in rows)
    expected = royal.analogy("king", "man", "woman", topn=10, method=method)
    assert [row["word"] for row in rows] == [w for w, _ in expected]
    assert [row["score"] for row in rows] == pytest.approx([s for _, s in expected])


def test_similar(royal, royal_dir):
    result = invoke(similar, ["queen", "--vectors", royal_dir, "-n", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("königin\t")
    result = invoke(similar, ["queen", "--vectors", royal_dir, "--json"])
    rows = json.loads(result.stdout)
    assert [row["word"] for row in rows] == [w for w, _ in royal.similar_by_word("queen")]


@pytest.mark.parametrize(
    ("command", "args"),
    [(analogy, ["king", "man", "unicorn"]), (similar, ["unicorn"]), (analogy, ["unicorn", "man", "woman"])],
)
def test_unknown_word_is_one_line_and_exit_2(royal_dir, command, args):
    assert_one_line_error(invoke(command, [*args, "--vectors", royal_dir]), "'unicorn'", royal_dir)


def test_missing_vectors_and_default_vectors(tmp_path, monkeypatch, royal):
    assert_one_line_error(invoke(similar, ["king", "--vectors", str(tmp_path / "none.bin")]), "none.bin")
    for module in (kv_module, nearest_module):  # KeyedVectors (a GPU) and the numpy index (the CPU)
        monkeypatch.setattr(module, "default_vectors_path", lambda: tmp_path / "default_vectors")
    assert_one_line_error(invoke(similar, ["king"]), "default vectors not found", "--vectors")
    royal.save(tmp_path / "default_vectors")
    result = invoke(analogy, ["king", "man", "woman", "-n", "1"])
    assert result.exit_code == 0 and result.stdout.startswith("queen\t")


def test_eval_json_equals_the_library(eval_vectors):
    result = invoke(eval_command, [eval_vectors, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"vectors", "analogies", "similarity"}
    assert report["vectors"] == eval_vectors
    assert len(report["analogies"]) == 1 and len(report["similarity"]) == 1
    kv = KeyedVectors.load(eval_vectors)
    assert report["analogies"][0] == evaluate_analogies(kv, QUESTIONS).to_dict()
    assert report["similarity"][0] == evaluate_similarity(kv, WORDSIM).to_dict()
    analogies = report["analogies"][0]
    assert Path(analogies["file"]).name == "questions-words.txt"
    assert analogies["questions_skipped"] > 0 and analogies["questions_used"] > 0
    assert len(analogies["sections"]) == 14


def test_eval_files_options_and_table(eval_vectors, tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("tiger cat 7.35\nbook paper 7.46\ncomputer keyboard 7.62\nplane car 5.77\n")
    args = [
        eval_vectors,
        "--similarity",
        str(WORDSIM),
        "--similarity",
        str(pairs),
        "--restrict-vocab",
        "2000",
    ]
    result = invoke(eval_command, [*args, "--method", "mul", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["analogies"] == []
    assert [Path(r["file"]).name for r in report["similarity"]] == ["wordsim353.tsv", "pairs.txt"]
    table = invoke(eval_command, [eval_vectors, "--analogies", str(QUESTIONS), "--similarity", str(pairs)])
    assert table.exit_code == 0, table.output
    for needle in ("questions-words.txt", "capital-common-countries", "accuracy", "pairs.txt", "spearman"):
        assert needle in table.stdout


def test_eval_errors(eval_vectors, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert_one_line_error(invoke(eval_command, [eval_vectors, "--similarity", str(empty)]), "empty.txt")
    assert_one_line_error(invoke(eval_command, [str(tmp_path / "nope.vec")]), "nope.vec")
