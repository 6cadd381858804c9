"""The check every hostile-input CLI test shares: a command that refuses its input says so in one line.

Imported as a plain module (pytest puts ``tests/``, the folder of the top conftest, on ``sys.path``).
"""

from __future__ import annotations

from click.testing import CliRunner, Result

from seqlab.cli.main import main


def invoke(*args) -> Result:
    """``seqlab ARGS...`` through Click's test runner (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit status 2, one ``seqlab: error: ...`` line on stderr holding every fragment, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("seqlab: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
