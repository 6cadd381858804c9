"""``seqlab sentiment predict`` (and Classifier.predict) given lines of bad UTF-8: each such line gets an
error naming it and an empty output line; the other lines are classified as usual."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from seqlab.cli.main import main
from seqlab.sentiment.predict import Classifier, default_model_path

BAD_INPUT = b"not good at all\n\xff bad \xfe\r\nwonderful film\n"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load(default_model_path())


def test_predict_reports_undecodable_bytes_and_classifies_the_rest(classifier):
    results = classifier.predict([b"not good at all", b"\xff bad", "wonderful film"])
    assert results[1].error == "not valid UTF-8 (byte 1 of the text)" and results[1].label == ""
    assert results[1].text == "\ufffd bad"
    assert [r.label for r in results] == ["negative", "", "positive"]
    alone = classifier.predict(["not good at all"])[0].probabilities  # batched with other lengths: not bit-equal
    assert results[0].probabilities == pytest.approx(alone, abs=1e-6)


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_stdin_with_a_bad_line(as_json):
    result = CliRunner().invoke(main, ["sentiment", "predict", "--device", "cpu", *(["--json"] if as_json else [])],
                                input=BAD_INPUT)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr == "seqlab: error: <stdin> 2: not valid UTF-8 (byte 1 of the text)\n"
    lines = result.stdout.split("\n")
    assert len(lines) == 4 and lines[3] == ""  # one output line per input line
    if as_json:
        rows = [json.loads(line) for line in lines[:3]]
        assert [r["label"] for r in rows] == ["negative", None, "positive"]
        assert rows[1]["error"].startswith("not valid UTF-8") and rows[1]["text"] == "\ufffd bad \ufffd"
    else:
        assert lines[0].startswith("negative\t") and lines[1] == "" and lines[2].startswith("positive\t")
