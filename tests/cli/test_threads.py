"""--threads N (issue 25): on every command that computes with torch, it sets the threads torch computes
on; one thread makes word2vec give the same vectors at every run."""

from __future__ import annotations

import click
import pytest
import torch
from click.testing import CliRunner

from seqlab.cli.main import LazyGroup, main
from seqlab.device import machine_cores, set_threads
from seqlab.errors import ConfigError

# commands without torch on the CPU: numpy queries and sacrebleu's statistics in Python
NO_TORCH = {("analogy",), ("similar",), ("bleu",)}


def leaves(group: click.Group, path: tuple[str, ...] = ()):
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        if isinstance(command, LazyGroup):
            yield from leaves(command, (*path, name))
        else:
            yield (*path, name), command


@pytest.fixture
def restore_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # put back (unset) after the test
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_every_command_that_computes_takes_threads():
    for path, command in leaves(main):
        options = {opt for param in command.params for opt in param.opts}
        if "--device" in options and path not in NO_TORCH:
            assert "--threads" in options, " ".join(path)
            threads = next(p for p in command.params if "--threads" in p.opts)
            assert threads.type.min == (0 if path == ("sentiment", "pretrain") else 1), path
    usage = CliRunner().invoke(main, ["glove", "train", "--help"]).output
    assert f"the machine's cores, {machine_cores()} here" in " ".join(usage.split())


def test_threads_sets_torchs_thread_count(tmp_path, restore_threads):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    runs = []
    for i in range(2):
        torch.set_num_threads(2)
        result = CliRunner().invoke(main, ["embed", "train", str(corpus), "-o", str(tmp_path / f"v{i}.txt"),
                                           "--min-count", "1", "--epochs", "2", "--quiet", "--threads", "1"])
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
        runs.append((tmp_path / f"v{i}.txt").read_text())
    assert runs[0] == runs[1]  # one thread: the same vectors at every run


def test_set_threads_before_torch_is_imported_reaches_it_through_the_environment(restore_threads):
    import os
    import subprocess
    import sys

    code = "from seqlab.device import set_threads; set_threads(1); import torch; print(torch.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout.strip() == "1"
    with pytest.raises(ConfigError, match="--threads 0"):
        set_threads(0)
    result = CliRunner().invoke(main, ["glove", "train", "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output
