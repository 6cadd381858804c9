"""``seqlab bleu`` through Click's test runner: sacrebleu's numbers and report, and every bad input."""

from __future__ import annotations

import json

import pytest
import sacrebleu
from click.testing import CliRunner

from seqlab.cli.bleu import bleu

HYPS = ["The cat sat on the mat .", "A dog runs in the park", "", "two people walk down a busy street"]
REFS = ["The cat sat on a mat .", "A dog is running in the park .", "Nothing here", "Two people walk along a street ."]
REFS2 = ["There is a cat on the mat .", "The dog runs through a park .", "Empty", "People walk on a busy street ."]


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, lines in {"hyp": HYPS, "ref": REFS, "ref2": REFS2}.items():
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def run(*args, input=None):
    return CliRunner().invoke(bleu, [str(a) for a in args], input=input)


def test_report_line_equals_sacrebleu(files):
    result = run(files["hyp"], files["ref"], files["ref2"])
    assert result.exit_code == 0, result.output
    metric = sacrebleu.BLEU()
    score = metric.corpus_score(HYPS, [REFS, REFS2])
    assert result.output.strip() == score.format(width=2, signature=metric.get_signature().format())


@pytest.mark.parametrize("options,kwargs", [
    ([], {}),
    (["--lowercase", "--tokenize", "intl"], {"lowercase": True, "tokenize": "intl"}),
    (["--smooth", "floor", "--smooth-value", "0.2"], {"smooth_method": "floor", "smooth_value": 0.2}),
    (["--tokenize", "char", "--smooth", "add-k"], {"tokenize": "char", "smooth_method": "add-k"}),
])
def test_json_has_the_full_precision_score(files, options, kwargs):
    result = run(files["hyp"], files["ref"], "--json", *options)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    metric = sacrebleu.BLEU(**kwargs)
    expected = metric.corpus_score(HYPS, [REFS])
    assert report["score"] == expected.score
    assert report["precisions"] == expected.precisions and report["bp"] == expected.bp
    assert (report["hyp_len"], report["ref_len"]) == (expected.sys_len, expected.ref_len)
    assert report["ratio"] == expected.ratio
    assert report["signature"] == metric.get_signature().format()


def test_sentence_level_lines_and_json(files):
    text = run(files["hyp"], files["ref"], "--sentence")
    assert text.exit_code == 0, text.output
    lines = text.output.strip().split("\n")
    assert len(lines) == len(HYPS)
    metric = sacrebleu.BLEU(effective_order=True)
    for line, hyp, ref in zip(lines, HYPS, REFS, strict=True):
        score = metric.sentence_score(hyp, [ref])
        assert line == score.format(width=2, signature=metric.get_signature().format())
    as_json = run(files["hyp"], files["ref"], "--sentence", "--json")
    rows = [json.loads(line) for line in as_json.output.strip().split("\n")]
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert [r["score"] for r in rows] == [metric.sentence_score(h, [r]).score for h, r in zip(HYPS, REFS, strict=True)]


def test_hypothesis_from_stdin(files):
    result = run("-", files["ref"], "--json", input="\n".join(HYPS) + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["score"] == sacrebleu.corpus_bleu(HYPS, [REFS]).score


def test_compressed_reference(files, tmp_path):
    import gzip

    gz = tmp_path / "ref.txt.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(REFS) + "\n")
    result = run(files["hyp"], gz, "--json")
    assert json.loads(result.output)["score"] == sacrebleu.corpus_bleu(HYPS, [REFS]).score


def error_of(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().split("\n")
    assert len(lines) == 1 and "Traceback" not in result.output
    return lines[0]


def test_mismatched_line_counts(files, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("one line\n", encoding="utf-8")
    message = error_of(run(files["hyp"], short))
    assert str(short) in message and "1 lines" in message and "4" in message


def test_empty_hypothesis_file(files, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    message = error_of(run(empty, files["ref"]))
    assert str(empty) in message and "empty" in message


def test_bad_encoding_names_file_and_line(files, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("ok\nalso ok\ncaf\u00e9\nend\n".encode("latin-1"))
    message = error_of(run(files["hyp"], bad))
    assert str(bad) in message and "line 3" in message and "UTF-8" in message


def test_missing_file(files, tmp_path):
    message = error_of(run(files["hyp"], tmp_path / "nope.txt"))
    assert "nope.txt" in message and "no such file" in message


def test_no_reference_given(files):
    result = run(files["hyp"])
    assert result.exit_code == 2 and "REFERENCES" in result.output


@pytest.mark.parametrize("options,fragment", [
    (["--smooth", "floor", "--smooth-value", "-1"], "floor smoothing needs a value in [0, 1]"),  # was: math error
    (["--smooth", "floor", "--smooth-value", "nan"], "got nan"),  # was: BLEU = nan
    (["--smooth", "floor", "--smooth-value", "5", "--max-order", "2"], "got 5.0"),  # was: BLEU = 158.11
    (["--smooth", "add-k", "--smooth-value", "inf"], "add-k smoothing needs a finite k >= 0"),  # was: BLEU = nan
    (["--smooth", "add-k", "--smooth-value", "-0.5"], "got -0.5"),
    (["--smooth-value", "0.3"], "smoothing 'exp' takes no value"),  # was: silently ignored
    (["--smooth", "none", "--smooth-value", "0.3"], "smoothing 'none' takes no value"),
])
def test_bad_smoothing_values_are_one_line_errors(tmp_path, options, fragment):
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("a b\n", encoding="utf-8")  # one unigram match, no bigram: the floor value is used
    ref.write_text("a c\n", encoding="utf-8")
    for device in ("cpu", "auto"):
        message = error_of(run(hyp, ref, *options, "--device", device))
        assert message.startswith("seqlab: error: ") and fragment in message, message


@pytest.mark.parametrize("options", [["--smooth", "floor", "--smooth-value", "0"],
                                     ["--smooth", "floor", "--smooth-value", "1"],
                                     ["--smooth", "add-k", "--smooth-value", "0"]])
def test_smoothing_values_at_the_bounds_are_scored(tmp_path, options):
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("a b\n", encoding="utf-8")
    ref.write_text("a c\n", encoding="utf-8")
    result = run(hyp, ref, *options, "--max-order", "2", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    score = json.loads(result.output)["score"]
    expected = sacrebleu.BLEU(smooth_method=options[1], smooth_value=float(options[3]), max_ngram_order=2)
    assert score == pytest.approx(expected.corpus_score(["a b"], [["a c"]]).score) and 0 <= score <= 100
