"""``seqlab translate`` and ``seqlab seq2seq train|eval|analyze`` through Click's test runner."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from one_line import assert_one_line_error

from seqlab.cli.main import seq2seq
from seqlab.cli.seq2seq import translate
from seqlab.io import save_checkpoint
from seqlab.seq2seq.translate import default_model_path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny dates model trained through the CLI (one short epoch: quality does not matter here)."""
    out = tmp_path_factory.mktemp("seq2seq") / "model"
    torch.set_num_threads(1)
    result = CliRunner().invoke(seq2seq, [
        "train", "-o", str(out), "--device", "cpu", "--quiet", "--json", "--set", "task='dates'",
        "--set", "train_size=300", "--set", "valid_size=20", "--set", "spm_type='char'", "--set", "vocab_size=100",
        "--set", "emb_dim=8", "--hidden-size", "8", "--set", "enc_layers=1", "--epochs", "1", "--batch-size", "32",
        "--set", "bleu_tokenize='char'", "--set", "max_len_ratio=0.0", "--set", "max_len_offset=12"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["epochs"] == 1
    return out


def run(command, *args, input=None):
    return CliRunner().invoke(command, [str(a) for a in args], input=input)


def test_default_model_translates_a_date():
    """The shipped model: echo "3 may 1979" | seqlab translate --beam 5."""
    result = run(translate, "--beam", "5", "--device", "cpu", input="3 may 1979\ntuesday 09/10/2001\n")
    assert result.exit_code == 0, result.output
    assert result.output.split("\n")[:2] == ["1979-05-03", "2001-09-10"]


def test_bad_lines_are_reported_and_the_others_translated(tiny_model):
    result = run(translate, "--model", tiny_model, "--device", "cpu", input="3 may 1979\n\n" + "9" * 500 + "\n4 mäy\n")
    assert result.exit_code == 2
    lines = result.output.split("\n")
    assert "seqlab: error: <stdin>: line 2: empty line" in result.output
    assert "line 3: too long" in result.output
    assert "line 4: unknown characters 'ä'" in result.output
    assert "Traceback" not in result.output
    outputs = [line for line in lines if line and not line.startswith("seqlab:")]
    assert len(outputs) == 2  # lines 1 and 4 are translated (line 2 and 3 print empty lines)


def test_nbest_and_json(tiny_model, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("3 may 1979\n12/25/1999\n", encoding="utf-8")
    result = run(translate, "--model", tiny_model, "--input", source, "--beam", "4", "--nbest", "3", "--device", "cpu")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.strip().split("\n")]
    assert [r[0] for r in rows] == ["1", "1", "1", "2", "2", "2"]
    scores = [float(r[1]) for r in rows[:3]]
    assert scores == sorted(scores, reverse=True)
    result = run(translate, "--model", tiny_model, "--input", source, "--json", "--device", "cpu")
    objects = [json.loads(line) for line in result.output.strip().split("\n")]
    assert [o["line"] for o in objects] == [1, 2] and objects[0]["source"] == "3 may 1979"


def test_plot_attention(tiny_model, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image

    png = tmp_path / "att.png"
    result = run(translate, "--model", tiny_model, "--plot-attention", png, "--device", "cpu", input="3 may 1979\n")
    assert result.exit_code == 0, result.output
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 100 and image.std() > 0.01


def test_eval_and_analyze_json(tiny_model):
    result = run(seq2seq, "eval", "--model", tiny_model, "--size", "40", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert 0.0 <= report["bleu"] <= 100.0 and report["sentences"] == 40 and "tok:char" in report["signature"]
    result = run(seq2seq, "analyze", "--model", tiny_model, "--size", "40", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["search_errors"] + report["model_errors"] == report["wrong"]
    assert report["correct"] + report["wrong"] == 40


def test_coverage_penalty_through_the_cli(tiny_model, tmp_path):
    """--beta reaches the search of translate, eval and analyze; a negative beta is refused."""
    source = tmp_path / "in.txt"
    source.write_text("3 may 1979\n12/25/1999\ntuesday 09/10/2001\n", encoding="utf-8")
    args = ("--input", source, "--beam", "4", "--nbest", "2", "--device", "cpu")
    plain = run(translate, "--model", tiny_model, *args)
    covered = run(translate, "--model", tiny_model, "--beta", "2", *args)
    assert plain.exit_code == 0 and covered.exit_code == 0, covered.output
    assert plain.output != covered.output
    for command in ("eval", "analyze"):
        result = run(seq2seq, command, "--model", tiny_model, "--size", "20", "--beta", "2", "--json",
                     "--device", "cpu")
        assert result.exit_code == 0, result.output
    assert json.loads(result.output)["beta"] == 2.0
    refused = run(translate, "--model", tiny_model, "--beta", "-1", input="3 may 1979\n")
    assert refused.exit_code == 2 and "--beta" in refused.output and "Traceback" not in refused.output


def test_an_ensemble_of_copies_translates_as_the_model(tiny_model, tmp_path):
    """--model twice: the averaged distribution of two equal models is the model's, so the n-best
    lists and their scores are the single model's; members with other vocabularies are refused."""
    source = tmp_path / "in.txt"
    source.write_text("3 may 1979\n12/25/1999\ntuesday 09/10/2001\n", encoding="utf-8")
    args = ("--input", source, "--beam", "4", "--nbest", "3", "--device", "cpu")
    single = run(translate, "--model", tiny_model, *args)
    double = run(translate, "--model", tiny_model, "--model", tiny_model, *args)
    assert single.exit_code == 0 and double.exit_code == 0, double.output
    assert double.output == single.output and len(single.output.splitlines()) == 9
    result = run(seq2seq, "eval", "--model", tiny_model, "--model", tiny_model, "--size", "40", "--json",
                 "--device", "cpu")
    assert result.exit_code == 0, result.output
    alone = run(seq2seq, "eval", "--model", tiny_model, "--size", "40", "--json", "--device", "cpu")
    assert json.loads(result.output)["bleu"] == json.loads(alone.output)["bleu"]
    shipped = default_model_path()
    message = error_of(run(translate, "--model", tiny_model, "--model", shipped, input="3 may 1979\n"))
    assert f"{shipped}: its subword vocabularies differ" in message


def error_of(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output.strip().splitlines()[-1]


def test_missing_and_incompatible_models(tmp_path):
    assert "no such file" in error_of(run(translate, "--model", tmp_path / "nope.pt", input="x\n"))
    assert "not a seqlab seq2seq model directory" in error_of(run(translate, "--model", tmp_path, input="x\n"))
    other = tmp_path / "other.pt"
    save_checkpoint({"kind": "word2vec", "x": 1}, other)
    assert "not a seq2seq model" in error_of(run(translate, "--model", other, input="x\n"))
    broken = tmp_path / "broken"
    broken.mkdir()
    save_checkpoint({"kind": "seq2seq-model", "config": {"bogus": 1}, "model_config": {}, "model": {}},
                    broken / "model.safetensors")
    assert "incompatible seq2seq checkpoint" in error_of(run(translate, "--model", broken, input="x\n"))
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    assert "not a seqlab model or checkpoint" in error_of(run(translate, "--model", tmp_path / "garbage.pt",
                                                              input="x\n"))


def test_bad_options(tiny_model, tmp_path):
    assert "--nbest 3 is larger than --beam 2" in error_of(
        run(translate, "--model", tiny_model, "--beam", "2", "--nbest", "3", input="x\n"))
    assert "task must be one of" in error_of(run(seq2seq, "train", "--set", "task='nope'", "-o", tmp_path / "m"))
    assert "needs train_src" in error_of(run(seq2seq, "train", "-o", tmp_path / "m"))
    assert "no such config file" in error_of(run(seq2seq, "train", "--config", tmp_path / "x.toml"))
    assert "resume" in error_of(run(seq2seq, "train", "--set", "task='dates'", "--resume", "-o", tmp_path / "fresh"))


def test_dot_attention_is_refused_before_any_work(tmp_path):
    """Luong's dot score needs equal widths; the bidirectional memory is twice the decoder's: one line, no traceback."""
    message = error_of(run(seq2seq, "train", "--set", "task='dates'", "--attention", "dot", "-o", tmp_path / "m",
                           "--device", "cpu"))
    assert "attention dot needs a decoder state as wide as the encoder memory" in message
    assert not (tmp_path / "m").exists()


def test_average_of_two_copies_is_the_model(tiny_model, tmp_path):
    """seq2seq average DIR FILE -o OUT: the mean of two copies of a model is that model (exactly), so
    OUT translates as it does; --json gives the summary."""
    out = tmp_path / "avg"
    result = run(seq2seq, "average", tiny_model, tiny_model / "model.safetensors", "-o", out, "--json",
                 "--device", "cpu")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["checkpoints"] == 2 and summary["model"] == str(out / "model.safetensors")
    assert (out / "config.toml").exists()
    args = ("--beam", "3", "--nbest", "2", "--device", "cpu")
    dates = "3 may 1979\n12/25/1999\n"
    assert run(translate, "--model", out, *args, input=dates).output == \
        run(translate, "--model", tiny_model, *args, input=dates).output
    result = run(seq2seq, "average", tiny_model, tiny_model, "-o", out, "--device", "cpu")
    assert result.exit_code == 0 and "the average of 2 checkpoints" in result.stdout


def test_average_refuses_other_models(tiny_model, tmp_path):
    shipped = default_model_path()
    message = error_of(run(seq2seq, "average", tiny_model, shipped, "-o", tmp_path / "avg"))
    assert f"{shipped / 'model.safetensors'}: a different architecture from {tiny_model / 'model.safetensors'}" \
        in message
    assert "at least two checkpoints" in error_of(run(seq2seq, "average", tiny_model, "-o", tmp_path / "avg"))
    assert "no such file" in error_of(run(seq2seq, "average", tiny_model, tmp_path / "nope", "-o", tmp_path / "avg"))


def test_train_with_chrf_token_batches_accumulation_and_average_last(tmp_path):
    out = tmp_path / "m"
    result = CliRunner().invoke(seq2seq, [
        "train", "-o", str(out), "--device", "cpu", "--quiet", "--set", "task='dates'", "--set", "train_size=200",
        "--set", "valid_size=20", "--set", "spm_type='char'", "--set", "vocab_size=100", "--set", "emb_dim=8",
        "--hidden-size", "8", "--set", "enc_layers=1", "--epochs", "2", "--set", "bleu_tokenize='char'",
        "--set", "max_len_ratio=0.0", "--set", "max_len_offset=12", "--set", "valid_metric=chrf",
        "--set", "batch_tokens=300", "--set", "accumulate=2", "--average-last", "2"])
    assert result.exit_code == 0, result.output
    assert "chrF" in result.stderr and ", chrF " in result.stdout
    assert f"average of the last epochs: {out / 'average' / 'model.safetensors'}" in result.stdout
    assert "valid_metric = \"chrf\"" in (out / "config.toml").read_text()
    assert "valid_metric must be bleu or chrf, got 'ter'" in error_of(
        run(seq2seq, "train", "--set", "task='dates'", "--set", "valid_metric=ter", "-o", tmp_path / "x"))


# --- decoding controls (issue 28) ---------------------------------------------------------------------------------

DATES = "3 may 1979\n12/25/1999\ntuesday 4 july 1976\n1 jan 2000\n"


def test_sampling_through_the_cli():
    """--sample draws a sample a line (with --nbest N, N of them, best first), the same ones for the same --seed."""
    args = ("--sample", "--temperature", "4", "--top-p", "0.95", "--top-k", "8", "--device", "cpu")
    first, again, other = (run(translate, *args, "--seed", seed, input=DATES) for seed in (1, 1, 2))
    assert first.exit_code == 0 and "Traceback" not in first.output, first.output
    assert len(first.stdout.splitlines()) == 4
    assert first.stdout == again.stdout and first.stdout != other.stdout
    nbest = run(translate, *args, "--nbest", "3", input=DATES)
    rows = [line.split("\t") for line in nbest.stdout.splitlines()]
    assert [r[0] for r in rows] == ["1", "1", "1", "2", "2", "2", "3", "3", "3", "4", "4", "4"]
    for line in range(4):
        scores = [float(r[1]) for r in rows[3 * line:3 * line + 3]]
        assert scores == sorted(scores, reverse=True)
    greedy = run(translate, "--beam", "1", "--device", "cpu", input=DATES)
    assert run(translate, "--sample", "--top-k", "1", "--device", "cpu", input=DATES).stdout == greedy.stdout


def test_rules_prefixes_and_replace_unk_through_the_cli(tmp_path):
    result = run(translate, "--no-repeat-ngram", "3", "--min-len", "11", "--device", "cpu", input="1 jan 2000\n")
    assert result.exit_code == 0 and result.stdout == "2000-01-11\n"  # "-01" may not come twice
    prefixes = tmp_path / "prefixes.txt"
    prefixes.write_text("\n2000\n17\n\n", encoding="utf-8")
    result = run(translate, "--prefix", prefixes, "--device", "cpu", input=DATES)
    assert result.exit_code == 0, result.output
    outputs = result.stdout.splitlines()
    assert outputs[0] == "1979-05-03" and outputs[1].startswith("2000") and outputs[2].startswith("17")
    result = run(translate, "--replace-unk", "--device", "cpu", input="3 mäy 1979\n")
    assert result.exit_code == 0 and result.stdout == "1979-05-03\n", result.output
    short = tmp_path / "short.txt"
    short.write_text("\n2000\n", encoding="utf-8")
    assert_one_line_error(run(translate, "--prefix", short, input=DATES), str(short), "2 prefix lines",
                          "<stdin> has 4 lines")


@pytest.mark.parametrize("args,fragment", [(("--sample", "--temperature", "0"), "temperature must be > 0"),
                                           (("--sample", "--top-p", "1.5"), "top_p must be in (0, 1]"),
                                           (("--top-k", "-1"), "top_k must be an integer >= 0"),
                                           (("--min-len", "-2"), "min_len"), (("--seed", "-1"), "seed")])
def test_bad_decoding_controls(args, fragment):
    assert_one_line_error(run(translate, *args, input=DATES), fragment)


def test_eval_takes_the_decoding_controls(tmp_path):
    args = ("--size", "20", "--json", "--device", "cpu")
    plain = json.loads(run(seq2seq, "eval", *args).stdout)
    sampled = run(seq2seq, "eval", "--sample", "--seed", "3", "--temperature", "3", *args)
    assert sampled.exit_code == 0, sampled.output
    assert json.loads(sampled.stdout)["bleu"] < plain["bleu"]
    ruled = run(seq2seq, "eval", "--min-len", "11", "--no-repeat-ngram", "5", "--replace-unk", *args)
    assert json.loads(ruled.stdout)["sentences"] == 20
    prefixes = tmp_path / "prefixes.txt"
    prefixes.write_text("1999\n" * 20, encoding="utf-8")
    forced = run(seq2seq, "eval", "--prefix", prefixes, "--output", tmp_path / "hyps.txt", *args)
    assert forced.exit_code == 0, forced.output
    assert all(line.startswith("1999") for line in (tmp_path / "hyps.txt").read_text().splitlines())
    assert_one_line_error(run(seq2seq, "eval", "--prefix", prefixes, "--size", "7"), str(prefixes),
                          "20 prefix lines", "the generated test set has 7 lines")
