"""The shipped dates model turns any line into a date; `seqlab translate` (no --model) warns, naming the
line, when the output is not a valid date or the model was unsure, and never for real dates."""

from __future__ import annotations

from click.testing import CliRunner

from seqlab.cli.main import main
from seqlab.seq2seq.dates import doubt, held_out
from seqlab.seq2seq.translate import Translator, default_model_path


def test_doubt_refuses_invalid_dates_and_unsure_outputs():
    assert doubt("1979-05-03", -0.001) is None
    assert "not a valid date" in doubt("2000-00-00", -0.001)
    assert "not a valid date" in doubt("2001-02-31", -0.001)
    assert "not a valid date" in doubt("3033-03-01", -0.001)  # outside 1900-2099, the task's range
    assert "unsure" in doubt("1909-02-01", -0.3)
    # a four-digit year in the line that the output lacks: out of the model's range, or read wrongly
    assert doubt("1976-07-04", -0.001, "tuesday 4 july 1776") == (
        "1976-07-04 may be wrong: the dates model knows the years 1900-2099, not 1776")
    assert doubt("1979-05-03", -0.001, "3 may 1997") == "1979-05-03 may be wrong: the line's year is 1997"
    assert doubt("1979-05-03", -0.001, "3 may 1979, room 2040") is None
    assert doubt("1979-05-03", -0.001, "05/03/79") is None  # two-digit years: nothing to compare


def test_real_dates_get_no_warning_and_non_dates_do():
    translator = Translator.load(default_model_path())
    sources, targets = held_out(200, 11, translator.cfg.seed, translator.cfg.train_size + translator.cfg.valid_size)
    results = translator.translate(sources, beam=5)
    assert [doubt(r.text, r.nbest[0][1], s) for r, s in zip(results, sources, strict=True)] == [None] * len(sources)
    result = CliRunner().invoke(main, ["translate", "--beam", "5"], input="3 may 1979\nhello world\nb\n")
    assert result.exit_code == 0 and result.stdout.splitlines()[0] == "1979-05-03"
    warnings = result.stderr.splitlines()
    assert [w.split(": ")[3] for w in warnings] == ["line 2", "line 3"]
    assert all("does not look like a date" in w for w in warnings)
    result = CliRunner().invoke(main, ["translate"], input="tuesday 4 july 1776\n")
    assert result.exit_code == 0 and "line 1: " in result.stderr and "not 1776" in result.stderr
