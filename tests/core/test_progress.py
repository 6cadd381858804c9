"""Progress bars (issue 27): drawn when stderr is a terminal, not into a log file or a pipe (tqdm's
``disable=None`` rule), unless SEQLAB_PROGRESS forces them on (1) or off (0); ``quiet`` always hides them."""

from __future__ import annotations

import io
import sys

import pytest

from seqlab.errors import ConfigError
from seqlab.training import progress_bar, progress_shown


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def draw() -> None:
    with progress_bar(1000, "reading", "word") as bar:
        bar.update(1000)


def on_terminal(monkeypatch) -> Terminal:
    """stderr replaced by a terminal (in the test itself: pytest sets its own stderr again after the fixtures)."""
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("SEQLAB_PROGRESS", raising=False)
    assert not progress_shown()
    draw()
    assert capsys.readouterr().err == ""


def test_a_bar_on_a_terminal(monkeypatch):
    monkeypatch.delenv("SEQLAB_PROGRESS", raising=False)
    terminal = on_terminal(monkeypatch)
    assert progress_shown() and not progress_shown(quiet=True)
    draw()
    assert "reading" in terminal.getvalue() and "1.00k/1.00k" in terminal.getvalue()


def test_seqlab_progress_1_forces_bars_on(monkeypatch, capsys):
    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    draw()
    assert "reading: 100%" in capsys.readouterr().err
    assert not progress_shown(quiet=True)  # --quiet still wins


def test_seqlab_progress_0_turns_them_off_on_a_terminal(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    terminal = on_terminal(monkeypatch)
    draw()
    assert terminal.getvalue() == ""


@pytest.mark.parametrize("value", ["yes", "2", "on"])
def test_another_value_is_an_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("SEQLAB_PROGRESS", value)
    with pytest.raises(ConfigError, match=f"SEQLAB_PROGRESS='{value}': use 1 .* 0 "):
        progress_shown()
