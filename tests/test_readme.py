"""The README's two set-up commands are what CI and newcomers run; keep them honest."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    return [line.strip() for line in (ROOT / "README.md").read_text().splitlines()
            if line.startswith("    python3 -m venv .venv")]


def test_readme_has_exactly_two_setup_commands():
    commands = _commands()
    assert len(commands) == 2
    assert "seqlab embed train" in commands[0] and "pytest" in commands[1]
    assert all("torch==2.13.0" in c for c in commands)


def test_ci_runs_the_readme_test_command():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert _commands()[1] in ci_lines
