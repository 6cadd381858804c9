"""``seqlab embed phrases`` through Click's test runner: a corpus file in, the corpus with its phrases joined out,
line for line what gensim's ``Phrases`` gives; the exported phrases with gensim's scores; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS
from gensim.models.phrases import Phrases as GensimPhrases
from gensim.utils import simple_preprocess

from seqlab.cli.main import main
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.text.corpus import iter_sentences


@pytest.fixture(scope="module")
def lee(tmp_path_factory) -> tuple[Path, list[list[str]]]:
    with open(gensim_test_data("lee_background.cor"), encoding="utf-8") as fh:
        sentences = [simple_preprocess(line) for line in fh]
    path = tmp_path_factory.mktemp("phrases") / "lee.txt"
    path.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    return path, sentences


def run(*args: str | Path):
    return CliRunner().invoke(main, ["embed", "phrases", *map(str, args)])


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.stderr
    assert result.stderr.startswith("seqlab: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize("flags, settings", [
    ([], {}),
    (["--min-count", "2", "--threshold", "0.2", "--scoring", "npmi", "--connector-words", "english"],
     {"min_count": 2, "threshold": 0.2, "scoring": "npmi", "connector_words": ENGLISH_CONNECTOR_WORDS}),
], ids=["defaults", "npmi-connectors"])
def test_the_output_is_gensims_phrases_line_by_line(lee, tmp_path, flags, settings):
    corpus, sentences = lee
    out, export = tmp_path / "out.txt", tmp_path / "phrases.tsv"
    result = run(corpus, "-o", out, "--export", export, "--json", *flags)
    assert result.exit_code == 0, result.stderr
    gensim = GensimPhrases(sentences, **settings)
    assert out.read_text(encoding="utf-8").splitlines() == [" ".join(gensim[s]) for s in sentences]
    rows = [line.split("\t") for line in export.read_text(encoding="utf-8").splitlines()]
    expected = gensim.export_phrases()
    assert sorted(phrase for phrase, _ in rows) == sorted(expected)
    assert all(float(score) == pytest.approx(expected[phrase], rel=1e-9) for phrase, score in rows)
    assert [float(score) for _, score in rows] == sorted((float(score) for _, score in rows), reverse=True)
    summary = json.loads(result.stdout)
    assert summary["phrases"] == len(expected) and summary["sentences"] == len(sentences)
    assert summary["tokens_read"] == sum(map(len, sentences))
    assert summary["tokens_written"] == sum(len(gensim[s]) for s in sentences)


def test_lowercase_simple_tokens_and_the_delimiter(tmp_path):
    text = "New York is big. I love New York!\nThe New York Times: new york, NEW YORK.\n" * 5
    corpus, out = tmp_path / "raw.txt", tmp_path / "out.txt"
    corpus.write_text(text, encoding="utf-8")
    result = run(corpus, "-o", out, "--lowercase", "--tokenize", "simple", "--min-count", "1", "--threshold", "1",
                 "--delimiter", "+")
    assert result.exit_code == 0, result.stderr
    sentences = list(iter_sentences(corpus, lowercase=True, tokenize="simple"))
    gensim = GensimPhrases(sentences, min_count=1, threshold=1, delimiter="+")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == [" ".join(gensim[s]) for s in sentences] and "new+york" in lines[0].split()
    assert result.stdout.startswith(f"found {len(gensim.export_phrases())} phrases")


def test_bad_inputs_are_one_line_errors_and_write_nothing(lee, tmp_path):
    corpus, _ = lee
    out = tmp_path / "out.txt"
    assert_one_line_error(run(tmp_path / "missing.txt", "-o", out), "missing.txt", "no such file")
    (tmp_path / "file").write_text("x\n")
    assert_one_line_error(run(corpus, "-o", tmp_path / "file" / "out.txt"), "cannot write there")
    assert_one_line_error(run(corpus, "-o", out, "--scoring", "npmi"), "between -1 and 1")
    assert_one_line_error(run(corpus, "-o", out, "--threshold", "-2"), "threshold must be positive")
    assert_one_line_error(run(corpus, "-o", out, "--min-count", "0"), "min_count must be at least 1")
    assert_one_line_error(run(corpus, "-o", out, "--delimiter", " "), "whitespace")
    assert_one_line_error(run(corpus, "-o", out, "--export", out), "--export")
    (tmp_path / "empty.txt").write_text("\n\n")
    assert_one_line_error(run(tmp_path / "empty.txt", "-o", out), "empty")
    assert not out.exists()
