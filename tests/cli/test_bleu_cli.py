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


# --- several metrics, several systems, significance (issue 28) ---------------------------------------------

SYSTEMS = {
    "base": ["The cat sat on mat .", "A dog runs in park", "Nothing", "two people walk a street",
             "a red ball on the grass", "the man is cooking dinner ."],
    "sys2": ["The cat sat on a mat .", "A dog is running in the park", "Nothing here", "Two people walk along street",
             "a red ball lies on the grass", "a man cooks dinner ."],
    "sys3": ["cat mat", "dog", "", "people", "ball grass", "man dinner"],
}
REFERENCES = ["The cat sat on a mat .", "A dog is running in the park .", "Nothing here",
              "Two people walk along a street .", "A red ball lies on the green grass .", "A man is cooking dinner ."]


@pytest.fixture
def systems(tmp_path):
    paths = {}
    for name, lines in {**SYSTEMS, "ref": REFERENCES}.items():
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def sacre_paired(test: str, n: int, names=("BLEU", "chrF2", "TER")):
    from sacrebleu.metrics import CHRF, TER
    from sacrebleu.significance import PairedTest

    kinds = {"BLEU": sacrebleu.BLEU, "chrF2": CHRF, "TER": TER}
    metrics = {name: kinds[name](references=[REFERENCES]) for name in names}
    return PairedTest(list(SYSTEMS.items()), metrics, None, test, n)()


@pytest.mark.parametrize("test,flag,n_flag", [("bs", "--paired-bs", "--paired-bs-n"),
                                              ("ar", "--paired-ar", "--paired-ar-n")])
def test_paired_test_json_equals_sacrebleu(systems, test, flag, n_flag):
    result = run(systems["ref"], "-i", systems["base"], systems["sys2"], systems["sys3"], "--metrics", "bleu,chrf,ter",
                 flag, n_flag, 150, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    signatures, expected = sacre_paired(test, 150)
    assert report["test"] == f"paired-{test}" and report["n_samples"] == 150 and report["seed"] == 12345
    assert [s["system"] for s in report["systems"]] == [str(systems[name]) for name in SYSTEMS]
    assert [s["baseline"] for s in report["systems"]] == [True, False, False]
    for name in ("BLEU", "chrF2", "TER"):
        assert report["signatures"][name] == signatures[name].format()
        for row, theirs in zip(report["systems"], expected[name], strict=True):
            ours = row[name]
            assert (ours["score"], ours["p_value"], ours["mean"], ours["ci"]) == \
                (theirs.score, theirs.p_value, theirs.mean, theirs.ci)
    assert report["systems"][0]["BLEU"]["precisions"] == sacrebleu.corpus_bleu(SYSTEMS["base"], [REFERENCES]).precisions


def test_paired_table_reads_like_sacrebleus(systems):
    result = run(systems["ref"], "-i", systems["base"], systems["sys2"], systems["sys3"], "-m", "bleu,chrf",
                 "--paired-bs", "--paired-bs-n", 100)
    assert result.exit_code == 0, result.output
    _, expected = sacre_paired("bs", 100, ("BLEU", "chrF2"))
    lines = result.output.splitlines()
    assert "BLEU (μ ± 95% CI)" in lines[0] and "chrF2 (μ ± 95% CI)" in lines[0]
    assert lines[1].strip().startswith(f"Baseline: {systems['base']}")
    sys3 = expected["BLEU"][2]
    star = "*" if sys3.p_value <= 0.05 else ""
    assert f"{sys3.score:.2f} ({sys3.mean:.2f} ± {sys3.ci:.2f}) (p = {sys3.p_value:.4f}){star}" in lines[3]
    assert "Paired bootstrap resampling test with 100 resampling trials" in result.output
    assert " - BLEU       nrefs:1|bs:100|seed:12345|case:mixed|" in result.output


def test_both_input_forms_and_stdin_give_the_same_report(systems):
    spread = run(systems["ref"], "-i", systems["base"], systems["sys2"], "--paired-ar", "--paired-ar-n", 50, "--json")
    repeated = run(systems["ref"], "--input", systems["base"], "-i", systems["sys2"], "--json", "--paired-ar",
                   "-parn", 50)
    assert spread.exit_code == 0, spread.output
    assert spread.output == repeated.output
    piped = run(systems["ref"], "-i", systems["base"], "-", "--paired-ar", "--paired-ar-n", 50, "--json",
                input="\n".join(SYSTEMS["sys2"]) + "\n")
    assert [s["BLEU"]["p_value"] for s in json.loads(piped.output)["systems"]] == \
        [s["BLEU"]["p_value"] for s in json.loads(spread.output)["systems"]]


def test_several_systems_without_a_test(systems):
    result = run(systems["ref"], "-i", systems["base"], systems["sys2"], "-m", "bleu,chrf++", "--width", 3)
    assert result.exit_code == 0, result.output
    from sacrebleu.metrics import CHRF

    lines = result.output.splitlines()
    assert lines[0].split() == ["System", "BLEU", "chrF2++"]
    expected = [sacrebleu.corpus_bleu(SYSTEMS["sys2"], [REFERENCES]).score,
                CHRF(word_order=2).corpus_score(SYSTEMS["sys2"], [REFERENCES]).score]
    assert lines[2].split() == [str(systems["sys2"]), *(f"{x:.3f}" for x in expected)]
    assert "Paired" not in result.output and "Metric signatures" in result.output


def test_one_system_several_metrics_are_sacrebleus_lines(files):
    from sacrebleu.metrics import CHRF, TER

    result = run(files["hyp"], files["ref"], files["ref2"], "--metrics", "bleu,chrf,ter")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == run(files["hyp"], files["ref"], files["ref2"]).output.strip()  # BLEU as before
    for line, metric in zip(lines[1:], [CHRF(), TER()], strict=True):
        score = metric.corpus_score(HYPS, [REFS, REFS2])
        assert line == score.format(width=2, signature=metric.get_signature().format())
    output = run(files["hyp"], files["ref"], "-m", "chrf,ter", "--json").output
    as_json = [json.loads(line) for line in output.splitlines()]
    assert [r["name"] for r in as_json] == ["chrF2", "TER"]
    assert as_json[1]["score"] == TER().corpus_score(HYPS, [REFS]).score


def test_confidence_of_one_system(files):
    from sacrebleu.metrics import CHRF

    result = run(files["hyp"], files["ref"], "--confidence", "--confidence-n", 200, "-m", "bleu,chrf", "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    for row, metric in zip(rows, [sacrebleu.BLEU(), CHRF()], strict=True):
        expected = metric.corpus_score(HYPS, [REFS], n_bootstrap=200)
        assert (row["score"], row["mean"], row["ci"]) == (expected.score, expected._mean, expected._ci)
        assert row["signature"] == metric.get_signature().format() and row["bs"] == "200"
    text = run(files["hyp"], files["ref"], "--confidence", "--confidence-n", 200).output.strip()
    metric = sacrebleu.BLEU()
    expected = metric.corpus_score(HYPS, [REFS], n_bootstrap=200)
    assert text == expected.format(width=2, signature=metric.get_signature().format())


@pytest.mark.parametrize("args,fragment", [
    (["-m", "bleu,meteor"], "unknown metric 'meteor'"),
    (["--paired-bs"], "--paired-bs needs two or more systems"),
    (["--paired-bs", "--paired-ar"], "exclude each other"),
    (["--sentence", "-m", "chrf"], "--sentence scores one system on BLEU only"),
])
def test_bad_options_are_one_line_errors(files, args, fragment):
    message = error_of(run(files["hyp"], files["ref"], *args))
    assert fragment in message, message


def test_bad_systems_are_one_line_errors(systems, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("one line\n", encoding="utf-8")
    message = error_of(run(systems["ref"], "-i", systems["base"], short, "--paired-bs"))
    assert str(short) in message and "1 lines" in message and "6" in message
    message = error_of(run(systems["ref"], "-i", systems["base"], tmp_path / "nope.txt"))
    assert "nope.txt" in message and "no such file" in message
    message = error_of(run(systems["ref"], "-i", systems["base"], "--paired-ar"))
    assert "two or more systems" in message
    message = error_of(run(systems["ref"], "-i", systems["base"], systems["sys2"], systems["sys2"]))
    assert "given twice" in message
    result = run("-i", systems["base"], systems["sys2"])
    assert result.exit_code == 2 and "REFERENCES" in result.output
