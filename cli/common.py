"""Options and error handling shared by every command group."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from seqlab.device import DEVICE_CHOICES
from seqlab.errors import ConfigError, SeqlabError

device_option = click.option(
    "--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True,
    help="Where to compute: auto picks cuda when available.",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def fail(message: str, code: int = 2) -> None:
    """Print ``seqlab: error: message`` on stderr (one line) and exit with ``code``."""
    click.echo(f"seqlab: error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SeqlabError into one line on stderr and exit status 2; real bugs keep their traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SeqlabError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def parse_sets(sets: tuple[str, ...]) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as config overrides; values are read as TOML (``3``, ``true``,
    ``'lstm'``), else taken as plain strings."""
    import tomllib

    overrides: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        overrides[key.strip().replace("-", "_")] = parsed
    return overrides


def training_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every ``train`` command shares: --set KEY=VALUE (as ``sets``), --resume, --device,
    --quiet and --json, plus one-line errors (handle_errors)."""
    for option in reversed([
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override any setting (repeatable)."),
        click.option("--resume", is_flag=True, help="Continue from OUTPUT/last.pt."),
        device_option, quiet_option, json_option,
    ]):
        func = option(func)
    return handle_errors(func)
