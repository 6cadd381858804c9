"""Every command that writes a file checks that it can before any work (one line, exit 2, nothing
written), and a second run writing the same output is refused while the first holds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from seqlab.cli.main import main
from seqlab.io import claim_output

ROOT = Path(__file__).resolve().parents[2]
VECTORS = str(ROOT / "data" / "default_vectors")
DATES = str(ROOT / "data" / "dates_model")
SST2 = str(ROOT / "data" / "sentiment_sst2")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("corpus") / "c.txt"
    path.write_text("the cat sat on the mat\n" * 50)
    return str(path)


def _commands(corpus: str, out: str) -> dict[str, tuple[list[str], str]]:
    """name -> (command line, input on stdin)."""
    return {
        "embed train -o": (["embed", "train", corpus, "-o", out, "--min-count", "1"], ""),
        "embed train --checkpoint": (["embed", "train", corpus, "-o", "/tmp/unused.bin", "--checkpoint", out], ""),
        "glove train -o": (["glove", "train", corpus, "-o", out, "--min-count", "1"], ""),
        "glove train --cooc": (["glove", "train", corpus, "-o", "/tmp/unused.bin", "--cooc", out], ""),
        "debias -o": (["debias", VECTORS, "-o", out, "--lists", str(ROOT / "data" / "debias")], ""),
        "embed plot -o": (["embed", "plot", VECTORS, "--words", "king,queen", "-o", out], ""),
        "embed plot-bias -o": (["embed", "plot-bias", VECTORS, "-o", out], ""),
        "translate --plot-attention": (["translate", "--plot-attention", out], "3 may 1979\n"),
        "seq2seq eval -o": (["seq2seq", "eval", "--model", DATES, "--size", "5", "-o", out], ""),
        "seq2seq train -o": (["seq2seq", "train", "--config", str(ROOT / "configs" / "dates.toml"), "-o", out], ""),
        "sentiment train -o": (["sentiment", "train", "-o", out, "--vectors", ""], ""),
        "sentiment eval --plot": (["sentiment", "eval", SST2, corpus, "--plot", out], ""),
        "vision train -o": (["vision", "train", "--config", str(ROOT / "configs" / "digits_lenet.toml"), "-o", out],
                            ""),
        "vision style -o": (["vision", "style", "-o", out, "--steps", "1"], ""),
        "generative train -o": (["generative", "train", "--config", str(ROOT / "configs" / "digits_vae.toml"), "-o",
                                 out], ""),
        "generative sample -o": (["generative", "sample", "runs/none", "-o", out], ""),
        "rl train -o": (["rl", "train", "--config", str(ROOT / "configs" / "gridworld_qlearning.toml"), "-o", out],
                        ""),
    }


NAMES = list(_commands("c", "o"))


@pytest.mark.parametrize("name", NAMES)
def test_an_unwritable_output_is_refused_before_the_work(name, corpus):
    args, stdin = _commands(corpus, "/proc/seqlab-test/out.x")[name]
    result = CliRunner().invoke(main, args, input=stdin)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == (
        "seqlab: error: /proc/seqlab-test/out.x: cannot write there (No such file or directory)")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["embed train -o", "glove train -o", "debias -o", "seq2seq train -o",
                                  "sentiment train -o", "vision train -o", "generative train -o", "rl train -o"])
def test_a_second_run_on_the_same_output_is_refused(name, corpus, tmp_path):
    out = tmp_path / "out"
    args, stdin = _commands(corpus, str(out))[name]
    with claim_output(out, directory=None):  # a first run is writing it
        result = CliRunner().invoke(main, args, input=stdin)
    assert result.exit_code == 2, result.output
    assert "another seqlab run (PID" in result.output and "is writing it" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())  # the second run wrote nothing
