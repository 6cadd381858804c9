"""seqlab's warnings go through standard logging (issue 27): a WARNING record on the ``seqlab`` logger, and by
default the same line on stderr as before, which the command line still prints; the logger's level silences
both, a handler on it takes the warnings over."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from seqlab import native
from seqlab.cli.main import main
from seqlab.log import warn

LINE = "seqlab: warning: something to know"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name} {record.levelname} {record.getMessage()}")


@pytest.fixture(autouse=True)
def seqlab_logger():
    """The "seqlab" logger and seqlab.native's, as they were (level and handlers), after each test."""
    loggers = [logging.getLogger(name) for name in ("seqlab", "seqlab.native")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield loggers[0]
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers


@pytest.fixture
def fallback_forgotten():
    native.announce_fallback.cache_clear()
    native._load.cache_clear()
    yield
    native.announce_fallback.cache_clear()
    native._load.cache_clear()


def test_a_warning_is_a_record_and_the_same_line_on_stderr(caplog, capsys):
    with caplog.at_level(logging.WARNING, logger="seqlab"):
        warn(LINE, "seqlab.native")
    assert capsys.readouterr().err == LINE + "\n"
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [("seqlab.native", logging.WARNING, LINE)]
    assert caplog.records[0].filename == "test_log.py"  # the record points at the caller, not at seqlab.log


def test_the_logger_level_silences_warnings(seqlab_logger, caplog, capsys):
    seqlab_logger.setLevel(logging.ERROR)
    warn(LINE)
    warn(LINE, "seqlab.native")
    assert capsys.readouterr().err == "" and caplog.records == []


def test_a_handler_on_the_seqlab_logger_takes_the_warnings_over(seqlab_logger, capsys):
    collect = Collect()
    seqlab_logger.addHandler(collect)
    warn(LINE, "seqlab.native")
    assert collect.messages == [f"seqlab.native WARNING {LINE}"] and capsys.readouterr().err == ""
    seqlab_logger.removeHandler(collect)
    warn(LINE)
    assert capsys.readouterr().err == LINE + "\n"


def test_the_seqlab_logger_has_a_null_handler_so_python_never_prints_a_record_itself(seqlab_logger):
    assert any(isinstance(h, logging.NullHandler) for h in seqlab_logger.handlers)


def test_the_c_kernel_fallback_is_logged_and_printed(fallback_forgotten, caplog, capsys, monkeypatch):
    monkeypatch.delenv("SEQLAB_NATIVE", raising=False)
    native.announce_fallback("no C compiler")
    native.announce_fallback("no C compiler")  # said once per process and reason
    line = ('seqlab: the C kernel is unavailable (no C compiler); training with the slower torch kernel '
            '(cpu_kernel = "torch" silences this)')
    assert capsys.readouterr().err == line + "\n"
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [("seqlab.native", logging.WARNING, line)]


def test_the_command_line_still_prints_the_warning_and_logs_it(tmp_path, fallback_forgotten, caplog, monkeypatch,
                                                              one_thread):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("SEQLAB_CACHE", str(blocker))
    monkeypatch.delenv("SEQLAB_NATIVE", raising=False)
    corpus = tmp_path / "town.txt"
    corpus.write_text("the river runs through the old town .\nthe market is busy in the town .\n" * 5,
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["embed", "train", str(corpus), "-o", str(tmp_path / "v.txt"), "--epochs", "1",
                                       "--min-count", "1", "--dim", "8", "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("seqlab: the C kernel is unavailable (") and result.stderr.count("\n") == 1
    assert [r.getMessage() for r in caplog.records if r.name == "seqlab.native"] == [result.stderr.rstrip("\n")]
