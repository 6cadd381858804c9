"""Decoding settings and inputs a hostile user can give ``seqlab translate`` (and the Python API):
NaN or infinite alpha and beta, impossible beams and length limits, and lines of bad UTF-8 in a file
or on stdin. Settings are refused in one line before any decoding; a bad line gets its own error and
an empty output line, and the others are translated."""

from __future__ import annotations

import gzip
import json
import math

import pytest
import torch
from click.testing import CliRunner

from seqlab.cli.main import main
from seqlab.errors import ConfigError
from seqlab.io import decode_utf8
from seqlab.seq2seq.model import ModelConfig, Seq2Seq
from seqlab.seq2seq.search import beam_search, check_decoding, greedy_search, translate_ids
from seqlab.seq2seq.translate import Translator, default_model_path

NAN, INF = math.nan, math.inf
BAD_SETTINGS = [
    ({"alpha": NAN}, "alpha must be in [0, 5]"), ({"alpha": INF}, "alpha"), ({"alpha": -0.5}, "alpha"),
    ({"beta": NAN}, "beta must be >= 0 and finite"), ({"beta": INF}, "beta"), ({"beta": -0.1}, "beta"),
    ({"beam": 0}, "beam size must be an integer >= 1"), ({"beam": 2.5}, "beam size"),
    ({"beam": 2, "nbest": 3}, "nbest must be an integer in [1, beam]"), ({"nbest": 0}, "nbest"),
    ({"penalty": "bogus"}, "unknown length penalty 'bogus'"),
    ({"max_len_ratio": NAN}, "max_len_ratio must be in [0, 100]"), ({"max_len_ratio": 1e9}, "max_len_ratio"),
    ({"max_len_offset": -1}, "max_len_offset must be an integer in [0, 10000]"), ({"max_len_offset": 1.5}, "offset"),
]
LINES = ["3 may 1979", "12/25/1999", "tuesday 09/10/2001"]


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load(default_model_path())


@pytest.mark.parametrize("settings,fragment", BAD_SETTINGS)
def test_check_decoding_refuses_settings_that_decode_garbage(settings, fragment):
    with pytest.raises(ConfigError) as info:
        check_decoding(**settings)
    assert fragment in str(info.value)


def test_check_decoding_accepts_the_usual_settings():
    check_decoding()
    check_decoding(beam=1, nbest=1, alpha=0.0, beta=0.0, penalty="gnmt", max_len_ratio=0.0, max_len_offset=0)
    check_decoding(beam=12, nbest=12, alpha=5.0, beta=3.0, max_len_ratio=100.0, max_len_offset=10_000)


def test_the_search_functions_check_their_settings():
    model = Seq2Seq(ModelConfig(src_vocab=8, tgt_vocab=8, emb_dim=4, hidden_size=4, enc_layers=1))
    src, lengths = torch.tensor([[4, 5, 6]]), torch.tensor([3])
    with pytest.raises(ConfigError, match="alpha"):
        beam_search(model, src, lengths, beam=3, alpha=NAN)
    with pytest.raises(ConfigError, match="beta"):
        translate_ids(model, src, lengths, beam=3, beta=INF)
    with pytest.raises(ConfigError, match="max_len_ratio"):
        greedy_search(model, src, lengths, max_len_ratio=INF)


@pytest.mark.parametrize("settings,fragment", [s for s in BAD_SETTINGS if "max_len" not in str(s[0])])
def test_translator_refuses_bad_settings(translator, settings, fragment):
    with pytest.raises(ConfigError) as info:
        translator.translate(LINES, **settings)
    assert fragment in str(info.value)
    with pytest.raises(ConfigError, match="batch_size"):
        translator.translate(LINES, batch_size=0)


def test_translator_reports_undecodable_bytes_and_translates_the_rest(translator):
    results = translator.translate([b"3 may 1979", b"\xff\xfe 12/25/1999", "12/25/1999"])
    assert [r.text for r in results] == ["1979-05-03", "", "1999-12-25"]
    assert results[1].error == "not valid UTF-8 (byte 1 of the line)" and results[1].nbest == []
    assert decode_utf8(b"ab\xc3(") == ("ab\ufffd(", "not valid UTF-8 (byte 3 of the line)")


def invoke(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


@pytest.mark.parametrize("option", [["--alpha", "nan"], ["--alpha", "inf"], ["--beta", "inf"], ["--beta", "nan"]])
def test_cli_refuses_non_finite_decoding_settings_in_one_line(tmp_path, option):
    result = invoke("translate", *option, "--device", "cpu", input="3 may 1979\n")
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.startswith("seqlab: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert option[0][2:] in result.stderr and option[1] in result.stderr and "Traceback" not in result.stderr


BAD_INPUT = b"3 may 1979\n\xff\xfe 4 june 2001\r\n12/25/1999\n"


@pytest.mark.parametrize("source", ["file", "gz", "stdin"])
def test_a_line_of_bad_utf8_gets_an_error_and_an_empty_line_from_a_file_or_stdin(tmp_path, source):
    if source == "stdin":
        result = invoke("translate", "--device", "cpu", input=BAD_INPUT)
        name = "<stdin>"
    else:
        path = tmp_path / ("in.txt" if source == "file" else "in.txt.gz")
        path.write_bytes(BAD_INPUT if source == "file" else gzip.compress(BAD_INPUT))
        result = invoke("translate", "--input", path, "--device", "cpu")
        name = str(path)
    assert result.exit_code == 2
    assert result.stdout == "1979-05-03\n\n1999-12-25\n"  # aligned with the input lines
    assert result.stderr == f"seqlab: error: {name}: line 2: not valid UTF-8 (byte 1 of the line)\n"


def test_json_output_shows_the_bad_line_with_replacement_characters(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(BAD_INPUT)
    result = invoke("translate", "--input", path, "--device", "cpu", "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["error"] for r in rows] == [None, "not valid UTF-8 (byte 1 of the line)", None]
    assert rows[1]["source"] == "\ufffd\ufffd 4 june 2001" and rows[1]["translation"] == ""


def test_a_damaged_compressed_input_is_a_one_line_error(tmp_path):
    path = tmp_path / "in.txt.gz"
    path.write_bytes(gzip.compress(b"3 may 1979\n" * 50)[:-12])
    result = invoke("translate", "--input", path, "--device", "cpu")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"seqlab: error: {path}: cannot read")
