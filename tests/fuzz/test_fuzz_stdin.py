"""Fuzzing the commands that read lines from stdin with the shipped default models: ``seqlab translate``
(the dates model) and ``seqlab sentiment predict`` (the SST-2 model), fed random bytes (bad UTF-8, NUL,
``\\r``, empty and very long lines) with random decoding options, through Click's runner; and the library
calls under them, ``Translator.translate`` and ``Classifier.predict``, with one model loaded per module.

Each run ends with exit status 0 (every line done) or 2 (some line, an option or the input refused, each
with one ``seqlab: error:`` line), never a traceback; it prints one output line per input line (with
``--json`` too), and every number it prints is finite.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from fuzz_inputs import FUZZ, FUZZ_SLOW, check_refusal, hostile_bytes, hostile_text
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.cli.main import main
from seqlab.errors import SeqlabError
from seqlab.sentiment.predict import Classifier
from seqlab.sentiment.predict import default_model_path as default_sentiment_model
from seqlab.seq2seq.translate import Translator, default_model_path

pytestmark = pytest.mark.usefixtures("one_thread")  # small models: two threads on two busy cores crawl
DATES = st.sampled_from(["3 may 1979", "12/05/2001", "may 3, 1979", "tuesday 1 jan 2019", "1979-05-03", "31.12.99",
                         "3 MAY 1979", "  3 may 1979  ", "3 may 1979\r", "\u0663 may 1979", "3\u00a0may 1979"])
REVIEWS = st.sampled_from(["not good at all", "a wonderful film", "the plot was dull", "GREAT", "bad !", "?", "...",
                           "it 's a mess", "\u00e9l\u00e9gant", "zzzz qqqq"])


def lines_of(known: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Input bytes: known lines, hostile text and random bytes, joined by any line end."""
    line = st.one_of(known.map(str.encode), known.map(str.encode), hostile_bytes(12),
                     hostile_text(12).map(lambda t: t.encode("utf-8", "surrogatepass")))  # a lone surrogate: bad bytes
    return st.tuples(st.lists(line, max_size=6), st.sampled_from([b"\n", b"\r\n"]), st.sampled_from([b"", b"\n"])
                     ).map(lambda parts: parts[1].join(parts[0]) + parts[2])


def count_lines(data: bytes) -> int:
    """Lines of ``data`` as a binary stream iterates them (``\\n`` ends a line; a last line may lack it)."""
    return data.count(b"\n") + (not data.endswith(b"\n") and data != b"")


def check_run(result, inputs: int, options: list[str]) -> list[str]:
    """The common contract for a run given ``inputs`` lines or texts; returns the output lines (split at
    ``\n`` only: a JSON line may hold U+2028 or U+0085, which ``str.splitlines`` would cut)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    stderr = result.stderr.split("\n")[:-1]
    if result.stderr.startswith("Usage: "):  # Click's own report of a bad option value
        assert result.exit_code == 2 and result.stdout == ""
        return []
    errors = [line for line in stderr if line.startswith("seqlab: error: ")]
    assert all(line.startswith(("seqlab: error: ", "seqlab: warning: ")) for line in stderr), stderr
    assert (result.exit_code == 2) == bool(errors), (result.exit_code, stderr)
    out = result.stdout.split("\n")[:-1]
    if inputs == 0 or (errors and not out):  # no input, or refused before the first line
        assert out == [] and result.exit_code == 2
        return out
    if "--nbest" not in options:
        assert len(out) == inputs, out
    for row in out if "--json" in options else []:
        assert all(math.isfinite(x) for x in _numbers(json.loads(row))), row
    return out


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return [value] if isinstance(value, float) else []


# -------------------------------------------------------------------------------------- translate
@st.composite
def translate_options(draw: st.DrawFn) -> list[str]:
    options = []
    if draw(st.booleans()):
        options.append("--json")
    if draw(st.booleans()):
        beam = draw(st.integers(1, 4))
        options += ["--beam", str(beam)]
        if draw(st.booleans()):
            options += ["--nbest", str(draw(st.integers(1, beam + 1)))]
    if draw(st.integers(0, 3)) == 0:
        options += ["--batch-size", str(draw(st.integers(1, 3)))]
    if draw(st.integers(0, 3)) == 0:
        options += ["--alpha", draw(st.sampled_from(["0", "0.6", "2", "-1", "nan", "inf", "1e308"]))]
    if draw(st.integers(0, 3)) == 0:
        options += ["--beta", draw(st.sampled_from(["0", "0.2", "5", "nan", "inf", "1e308"]))]
    return options


@settings(settings.get_profile(FUZZ_SLOW))
@given(data=lines_of(DATES), options=translate_options())
@example(data=b"3 may 1979\n\xff\xfe\n\n" + b"9" * 5000 + b"\n\x00\r\n", options=["--json"])
@example(data=b"3 may 1979\n", options=["--alpha", "nan"])
def test_translate_command(data, options):
    result = CliRunner().invoke(main, ["translate", "--device", "cpu", *options], input=data)
    check_run(result, count_lines(data), options)


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load(default_model_path())


@settings(settings.get_profile(FUZZ))
@given(lines=st.lists(st.one_of(DATES, hostile_text(12), hostile_bytes(12)), max_size=5),
       beam=st.integers(1, 3), batch_size=st.integers(1, 4))
@example(lines=["\ud800 3 may 1979", "3 may 1979"], beam=1, batch_size=1)  # bug: RuntimeError of sentencepiece
def test_translator(translator, lines, beam, batch_size):
    try:
        results = translator.translate(lines, beam=beam, batch_size=batch_size)
    except SeqlabError as exc:
        check_refusal(exc)
        return
    assert len(results) == len(lines)
    for result in results:
        assert (result.error is None) == bool(result.nbest), result
        assert all(math.isfinite(score) for _, score in result.nbest)
        assert result.error is None or "\n" not in result.error


# ------------------------------------------------------------------------------ sentiment predict
@settings(settings.get_profile(FUZZ_SLOW))
@given(data=lines_of(REVIEWS), as_json=st.booleans(), batch_size=st.sampled_from([None, "1", "2", "256"]))
def test_predict_command(data, as_json, batch_size):
    options = (["--json"] if as_json else []) + (["--batch-size", batch_size] if batch_size else [])
    result = CliRunner().invoke(main, ["sentiment", "predict", "--device", "cpu", *options], input=data)
    check_run(result, count_lines(data), options)


def argv_text(text: str) -> str:
    """``text`` as an argument can hold it: no NUL, and no lone surrogate (a real argv holds the surrogates of
    undecodable bytes, which the real standard output writes back as those bytes and Click's runner refuses)."""
    return "".join(ch for ch in text if ch != "\x00" and not "\ud800" <= ch <= "\udfff")


@settings(settings.get_profile(FUZZ_SLOW))
@given(texts=st.lists(st.one_of(REVIEWS, hostile_text(8)).map(argv_text), min_size=1, max_size=3),
       as_json=st.booleans())
@example(texts=["a" * 300], as_json=False)  # bug: OSError "File name too long" (is it a model directory?)
def test_predict_arguments(texts, as_json):
    """Texts given as arguments (after ``--``, so that one starting with ``-`` is a text too)."""
    options = ["--json"] if as_json else []
    result = CliRunner().invoke(main, ["sentiment", "predict", "--device", "cpu", *options, "--", *texts])
    check_run(result, len(texts), options)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load(default_sentiment_model())


@settings(settings.get_profile(FUZZ))
@given(texts=st.lists(st.one_of(REVIEWS, hostile_text(12), hostile_bytes(12)), max_size=5),
       batch_size=st.integers(1, 4))
def test_classifier(classifier, texts, batch_size):
    predictions = classifier.predict(texts, batch_size)
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert (prediction.error is None) == bool(prediction.label), prediction
        assert all(math.isfinite(p) for p in prediction.probabilities.values())
        if prediction.label:
            assert sum(prediction.probabilities.values()) == pytest.approx(1, abs=1e-5)


# ----------------------------------------------------------------------- bugs found, as plain tests
def test_a_line_with_a_lone_surrogate_is_an_error_of_its_own(translator):
    """sentencepiece raised a RuntimeError for the whole call; now that line alone gets an error."""
    bad, good = translator.translate(["3 may \ud800 1979", "3 may 1979"], beam=1)
    assert bad.error == "not valid UTF-8 (character 7 of the line is a lone surrogate)" and bad.nbest == []
    assert good.error is None and good.text == "1979-05-03"


def test_predict_a_text_too_long_for_a_file_name():
    """Is the first argument a model directory? Asking the file system raised 'File name too long'."""
    result = CliRunner().invoke(main, ["sentiment", "predict", "--device", "cpu", "great " * 60])
    assert result.exit_code == 0 and result.stdout.startswith("positive\t"), result.exception
