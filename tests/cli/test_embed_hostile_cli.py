"""``seqlab embed train`` and ``seqlab glove train`` against hostile input: absurd sizes and settings,
binary corpora, divergence and a corpus on a pipe. Each bad case ends in one line on stderr, exit
status 2, no traceback and no output file; a piped corpus trains like the file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from one_line import assert_one_line_error as one_line_error

from seqlab.cli.main import main
from seqlab.embeddings import limits
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.memory import format_bytes

TEXT = """\
The river runs through the old town and the market square is busy every morning .
Farmers bring apples , bread and cheese to the market before the sun rises .
The children walk to school along the river and stop on the old stone bridge .
A teacher at the school tells the children about the history of the town .
In the evening the market is quiet and the farmers drive home to their farms .
"""
COMMANDS = {"embed": ["embed", "train"], "glove": ["glove", "train"]}


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "town.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def train(command: str, corpus: Path | str, output: Path, *extra: str):
    args = [*COMMANDS[command], str(corpus), "-o", str(output), "--epochs", "1", "--min-count", "1", "--quiet",
            "--device", "cpu", *extra]
    return CliRunner().invoke(main, args)


def assert_one_line_error(result, output: Path, *fragments: str) -> None:
    one_line_error(result, *fragments)
    assert not output.exists() and not list(output.parent.glob("*.tmp"))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_dimension_too_big_for_the_memory_is_refused(command, corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "available_bytes", lambda device: 8 << 30)  # 8 GiB, whatever this machine has
    out = tmp_path / "v.bin"
    result = train(command, corpus, out, "--dim", "98000000")
    available = f"more than the {format_bytes(8 << 30)} of memory available"
    if command == "embed":
        assert_one_line_error(result, out, "dim 98,000,000 x vocabulary ", "3 tables", available,
                              "lower --dim or --max-vocab")
    else:  # with 60 words, a step's temporaries (every entry of X at once) outweigh the tables
        assert_one_line_error(result, out, " x dim 98,000,000 x 40 bytes of step temporaries = ", available,
                              "lower --batch-size or --dim")


@pytest.mark.parametrize("command,flags,message", [
    ("embed", ["--window", "100000"], "window must be at most 1,000, got 100,000"),
    ("embed", ["--negative", "10000"], "negative must be at most 100, got 10,000"),
    ("embed", ["--epochs", "100000"], "epochs must be at most 10,000"),
    ("embed", ["--alpha", "nan"], "alpha must be a finite number"),
    ("embed", ["--sample", "nan"], "sample must be a finite number"),
    ("embed", ["--alpha", "inf"], "alpha must be a finite number"),
    ("glove", ["--window", "100000"], "window must be at most 1,000, got 100,000"),
    ("glove", ["--x-max", "inf"], "x_max must be a finite number"),
    ("glove", ["--alpha", "nan"], "alpha must be a finite number"),
    ("glove", ["--eta", "inf"], "eta must be a finite number"),
])
def test_absurd_settings_are_refused_with_the_reason(command, flags, message, corpus, tmp_path):
    out = tmp_path / "v.txt"
    assert_one_line_error(train(command, corpus, out, *flags), out, message)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_binary_corpus_is_refused_with_its_line(command, tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"words here\nand here\n\x00\x01\x02 binary\n")
    out = tmp_path / "v.txt"
    assert_one_line_error(train(command, path, out), out, f"{path}: line 3 contains a NUL byte; is this a text file?")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_at_once(tmp_path):
    out = tmp_path / "v.txt"
    assert_one_line_error(train("embed", "/dev/zero", out), out, "/dev/zero: line 1 contains a NUL byte")


@pytest.mark.parametrize("command,flags,what", [
    ("embed", ["--alpha", "100", "--cpu-kernel", "torch", "--epochs", "20", "--min-count", "1", "--negative", "20"],
     "the loss"),
    ("embed", ["--alpha", "100", "--epochs", "5"], "the loss"),
    ("glove", ["--epochs", "5", "--cpu-kernel", "torch"], "the cost"),
    ("glove", ["--epochs", "5"], "the cost")])
def test_divergence_stops_with_one_line_and_no_vectors(command, flags, what, corpus, tmp_path, monkeypatch):
    if command == "glove":  # AdaGrad's steps are bounded by eta (at most 100), so make the tables diverge
        from seqlab.embeddings import glove as glove_module

        step, block = glove_module.Glove.adagrad_step, glove_module.train_block

        def blow_up(self, *args, **kwargs):  # the torch steps
            result = step(self, *args, **kwargs)
            self.weight.fill_(float("inf"))
            return result

        def blow_up_block(tables, *args, **kwargs):  # the C kernel
            result = block(tables, *args, **kwargs)
            tables[0].fill_(float("inf"))
            return result

        monkeypatch.setattr(glove_module.Glove, "adagrad_step", blow_up)
        monkeypatch.setattr(glove_module, "train_block", blow_up_block)
    out = tmp_path / "v.txt"
    result = train(command, corpus, out, *flags)
    assert_one_line_error(result, out, f"training diverged: {what} became NaN or infinite in epoch ",
                          "nothing after that was saved", "train again with a lower learning rate")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_corpus_on_a_pipe_trains_like_the_file(command, corpus, tmp_path):
    extra = ["--cpu-kernel", "torch"] if command == "embed" else []
    assert train(command, corpus, tmp_path / "file.txt", *extra).exit_code == 0
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as fh:
            fh.write(corpus.read_bytes())

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        result = train(command, f"/dev/fd/{read_end}", tmp_path / "pipe.txt", *extra)
    finally:
        thread.join()
        os.close(read_end)
    assert result.exit_code == 0, result.stderr
    from_file, from_pipe = KeyedVectors.load(tmp_path / "file.txt"), KeyedVectors.load(tmp_path / "pipe.txt")
    assert from_pipe.words == from_file.words and len(from_file) > 30
    assert (from_pipe.vectors == from_file.vectors).all()
