"""Fuzzing BLEU: the string metric against sacrebleu (random hypotheses and references with empty lines,
odd unicode and line ends, every tokenizer that needs no extra install, random smoothing methods, values and
orders), and ``seqlab bleu`` on random bytes files through Click's runner.

A score that is computed equals sacrebleu's and lies in [0, 100]; a bad option or input is one SeqlabError
(for the command: exit status 2 and one ``seqlab: error:`` line, never a traceback).
"""

from __future__ import annotations

import json
import math

import pytest
import sacrebleu
import torch
from click.testing import CliRunner
from fuzz_inputs import FUZZ, FUZZ_SLOW, WORD, check_refusal, hostile_bytes, hostile_text, write
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.cli.main import main
from seqlab.errors import ConfigError, SeqlabError
from seqlab.metrics.bleu import BLEU, SMOOTH_METHODS
from seqlab.metrics.bleu_ids import sentence_bleu_from_statistics

MAX_SCORE = 100 + 1e-9  # exp(log(100)) is 100.00000000000004, in sacrebleu too
TOKENIZERS = ["13a", "intl", "char", "zh", "none"]  # the ones that need no extra install
WORDS = st.sampled_from(["the", "cat", "sat", "on", "a", "mat", ".", ",", "The", "CAT", "\u00e9t\u00e9", "\u4e2d\u6587",
                         "\u0130", "don't", "3.5", "&quot;", "\U0001f600"])
SENTENCE = st.one_of(st.lists(WORDS, max_size=12).map(" ".join),
                     st.lists(st.one_of(WORDS, WORD), max_size=6).map(" ".join),
                     hostile_text(8).map(lambda t: t.replace("\n", " ").replace("\r", " ")), st.just(""))
SMOOTH_VALUES = st.one_of(st.none(), st.sampled_from([0.0, 0.1, 1.0, 2.0, -1.0, math.nan, math.inf, 1e308, 5e-324]),
                          st.floats())


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """Hypotheses and 1-3 reference streams of the same length (references often near the hypotheses)."""
    hyps = draw(st.lists(SENTENCE, min_size=1, max_size=6))
    streams = []
    for _ in range(draw(st.integers(1, 3))):
        streams.append([draw(st.one_of(st.just(h), SENTENCE, st.just(h + " extra"))) for h in hyps])
    return hyps, streams


def metrics(tokenize, lowercase, smooth, value, order, effective):
    ours = BLEU(lowercase=lowercase, tokenize=tokenize, smooth_method=smooth, smooth_value=value, max_order=order,
                effective_order=effective)
    theirs = sacrebleu.BLEU(lowercase=lowercase, tokenize=tokenize, smooth_method=smooth, smooth_value=value,
                            max_ngram_order=order, effective_order=effective)
    return ours, theirs


def same_score(ours, theirs) -> None:
    assert 0 <= ours.score <= MAX_SCORE and math.isfinite(ours.score), ours
    if not math.isfinite(theirs.score):  # sacrebleu overflows where seqlab does not (see bleu._percent)
        return
    assert ours.score == pytest.approx(theirs.score, rel=1e-9, abs=1e-9), (ours, theirs)
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert list(ours.counts) == pytest.approx(list(theirs.counts)) and list(ours.totals) == pytest.approx(
        list(theirs.totals))
    assert ours.bp == pytest.approx(theirs.bp, rel=1e-12)


OPTIONS = dict(tokenize=st.sampled_from(TOKENIZERS), lowercase=st.booleans(), smooth=st.sampled_from(SMOOTH_METHODS),
               value=SMOOTH_VALUES, order=st.integers(1, 6))


@settings(settings.get_profile(FUZZ))
@given(corpus=corpora(), effective=st.booleans(), **OPTIONS)
def test_corpus_bleu_is_sacrebleu(corpus, tokenize, lowercase, smooth, value, order, effective):
    hyps, refs = corpus
    try:
        ours, theirs = metrics(tokenize, lowercase, smooth, value, order, effective)
    except SeqlabError as exc:  # a value sacrebleu would take and then fail on (or give a score above 100)
        check_refusal(exc)
        return
    same_score(ours.corpus_score(hyps, refs), theirs.corpus_score(hyps, refs))


@settings(settings.get_profile(FUZZ))
@given(corpus=corpora(), **OPTIONS)
@example(corpus=(["the"], [["the"]]), tokenize="13a", lowercase=False, smooth="add-k", value=1e308,
         order=2)  # bug: a score of inf
def test_sentence_bleu_is_sacrebleu(corpus, tokenize, lowercase, smooth, value, order):
    hyps, refs = corpus
    try:
        ours, theirs = metrics(tokenize, lowercase, smooth, value, order, True)
    except SeqlabError as exc:
        check_refusal(exc)
        return
    for i, score in enumerate(ours.sentence_scores(hyps, refs)):
        same_score(score, theirs.sentence_score(hyps[i], [stream[i] for stream in refs]))


@settings(settings.get_profile(FUZZ))
@given(hyps=st.lists(SENTENCE, max_size=4), refs=st.lists(st.lists(st.one_of(st.none(), SENTENCE), max_size=4),
                                                          max_size=3), tokenize=st.sampled_from(TOKENIZERS))
def test_mismatched_and_missing_references(hyps, refs, tokenize):
    """Streams of other lengths, sentences without any reference, no hypotheses: a DataError or a score."""
    try:
        score = BLEU(tokenize=tokenize).corpus_score(hyps, refs)
    except SeqlabError as exc:
        check_refusal(exc)
        return
    assert all(len(stream) == len(hyps) for stream in refs)
    assert 0 <= score.score <= MAX_SCORE


# -------------------------------------------------------------------------------------- the command
@st.composite
def command_options(draw: st.DrawFn) -> list[str]:
    options = []
    if draw(st.booleans()):
        options += ["--tokenize", draw(st.sampled_from([*TOKENIZERS, "ja-mecab"]))]
    if draw(st.booleans()):
        options += ["--smooth", draw(st.sampled_from(SMOOTH_METHODS))]
    if draw(st.booleans()):
        options += ["--smooth-value", draw(st.one_of(st.sampled_from(["nan", "inf", "-1", "1e400", "0.5", "x"]),
                                                     st.floats().map(repr)))]
    if draw(st.booleans()):
        options += ["--max-order", str(draw(st.integers(-1, 12)))]
    for flag in ("--lowercase", "--sentence", "--json"):
        if draw(st.booleans()):
            options.append(flag)
    return options


def file_lines(data: bytes) -> int:
    return len(data.split(b"\n")) - (data.endswith(b"\n") or not data)


@settings(settings.get_profile(FUZZ_SLOW))
@given(hyp=hostile_bytes(20), refs=st.lists(hostile_bytes(20), min_size=1, max_size=2), stdin=st.booleans(),
       options=command_options())
@example(hyp=b"a\n", refs=[b"a\n"], stdin=False, options=["--tokenize", "ja-mecab"])  # sacrebleu's lines
def test_command(folder, hyp, refs, stdin, options):
    ref_paths = [str(write(folder, f"ref{i}.txt", data)) for i, data in enumerate(refs)]
    hyp_arg = "-" if stdin else str(write(folder, "hyp.txt", hyp))
    result = CliRunner().invoke(main, ["bleu", hyp_arg, *ref_paths, "--device", "cpu", *options],
                                input=hyp if stdin else None)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    if result.exit_code == 2:
        assert result.stdout == ""
        if not result.stderr.startswith("Usage: "):  # Click's own report of a bad option value
            assert result.stderr.startswith("seqlab: error: ") and result.stderr.count("\n") == 1, result.stderr
        return
    rows = result.stdout.splitlines()
    assert len(rows) == (file_lines(hyp) if "--sentence" in options else 1), (rows, hyp)
    if "--json" in options:
        assert all(0 <= json.loads(row)["score"] <= MAX_SCORE for row in rows)


# ----------------------------------------------------------------------- bugs found, as plain tests
def test_add_k_of_1e308_scores_at_most_100():
    """100 x (count + k) overflowed to inf: a sentence BLEU of inf (sacrebleu's too); now the precision is 100%."""
    score = BLEU(smooth_method="add-k", smooth_value=1e308, effective_order=True).sentence_score("the", ["the"])
    assert score.score == pytest.approx(100) and score.precisions == [100.0, 100.0, 100.0, 100.0]
    stats = torch.tensor([[1, 1, 1, 0, 0, 0, 1, 0, 0, 0]])
    assert sentence_bleu_from_statistics(stats, "add-k", 1e308).tolist() == pytest.approx([100.0])


def test_a_missing_tokenizer_is_one_line():
    """sacrebleu's message of a missing extra spans several lines; the ConfigError is one."""
    pytest.importorskip("sacrebleu.tokenizers.tokenizer_ja_mecab")
    try:
        BLEU(tokenize="ja-mecab")
    except ConfigError as exc:
        assert "\n" not in str(exc) and "ja-mecab" in str(exc)
    else:
        pytest.skip("MeCab is installed here")
