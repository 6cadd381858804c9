"""Configuration: frozen dataclasses loaded from TOML, with command-line overrides on top.

A config file is flat (``key = value``) or has its fields under one table named after the
pipeline (``[word2vec]``); unknown keys are an error naming the file and the key, so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from seqlab.errors import ConfigError

T = TypeVar("T")
_INT_LIMIT = 2**63  # settings are 64-bit numbers, as in TOML


def _coerce(value: Any, default: Any, key: str, source: str) -> Any:
    if default is None or value is None:
        return value
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: {key} must be true or false, got {value!r}")
    if kind in (int, float):
        return _number(value, kind, key, source)
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{source}: {key} must be a string, got {value!r}")
    if kind is tuple:  # a TOML array of numbers, such as LMConfig.cutoffs
        if not isinstance(value, list | tuple) or not default:
            raise ConfigError(f"{source}: {key} must be a list like {list(default)!r}, got {value!r}")
        return tuple(_coerce(item, default[0], f"{key}[{i}]", source) for i, item in enumerate(value))
    return value


def _number(value: Any, kind: type, key: str, source: str) -> int | float:
    """``value`` as an int or float setting: finite (no setting means anything by inf or nan, and
    int(inf) would overflow) and, for an int, within 64 bits (what torch and numpy take)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: {key} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{source}: {key} must be a finite number, got {value!r}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ConfigError(f"{source}: {key} must be an integer, got {value!r}")
    if (kind is int or isinstance(value, int)) and not -_INT_LIMIT <= value < _INT_LIMIT:
        size = f"a {value.bit_length()}-bit integer" if isinstance(value, int) else f"{value:.3g}"
        raise ConfigError(f"{source}: {key} is too large ({size}); settings hold 64-bit integers")
    return kind(value)


def check_finite(cfg: Any) -> None:
    """ConfigError naming the first numeric field of the dataclass ``cfg`` that is NaN or infinite.

    A config's ``validate`` calls this first, so that its range checks (``lr > 0``, ``0 <= dropout < 1``)
    are never asked about inf (which passes ``> 0``) or NaN (which fails every comparison silently).
    """
    for field in dataclasses.fields(cfg):
        value = getattr(cfg, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{field.name} must be a finite number, got {value!r}")


def require(*checks: tuple[bool, str]) -> None:
    """Raise ConfigError with the message of the first (ok, message) check that failed."""
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


MAX_LEARNING_RATE = 100.0


def learning_rate_check(value: float, name: str = "lr", zero_ok: bool = False) -> tuple[bool, str]:
    """A ``validate()`` check (ok, message) that a learning rate is in (0, MAX_LEARNING_RATE] (or 0 with
    ``zero_ok``, where 0 means a default): steps past that overflow float32 inside torch's optimisers
    (Adam's first step is lr / (1 - beta1) = 10 lr), which would be a traceback, not an answer."""
    low = 0 <= value if zero_ok else 0 < value
    return (low and value <= MAX_LEARNING_RATE,
            f"{name} must be in {'[' if zero_ok else '('}0, {MAX_LEARNING_RATE:g}], got {value:g} (larger steps "
            f"overflow the optimiser; published settings use 1e-4 to 1)")


def read_toml(path: str | os.PathLike, section: str | None = None) -> dict[str, Any]:
    """Read a TOML file into a dict (the ``section`` table if the file has one)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such config file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a TOML file (not UTF-8 text: {raw[exc.start]:#04x} at byte offset "
                          f"{exc.start}); give a TOML settings file such as configs/*.toml") from None
    if "\x00" in text:
        raise ConfigError(f"{p}: not a TOML file (binary data: a NUL character at offset {text.index(chr(0))}); "
                          f"give a TOML settings file such as configs/*.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML ({exc})") from None
    if section and isinstance(data.get(section), dict):
        outside = [key for key in data if key != section]
        if outside:  # ignoring them would run with their defaults without a word
            raise ConfigError(f"{p}: keys outside the [{section}] table: {', '.join(map(repr, outside))}; move them "
                              f"into the table (or write a flat file without it)")
        data = data[section]
    return data


def build_config(cls: type[T], path: str | os.PathLike | None = None, section: str | None = None,
                 **overrides: Any) -> T:
    """Make ``cls`` from its defaults, then the TOML file at ``path``, then non-None ``overrides``."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    base = cls()
    values: dict[str, Any] = {}
    if path is not None:
        for key, value in read_toml(path, section).items():
            name = key.replace("-", "_")
            if name not in fields:
                raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(fields))})")
            if name in values:
                raise ConfigError(f"{path}: {name} is set twice (as {name!r} and {name.replace('_', '-')!r}); keep one")
            values[name] = _coerce(value, getattr(base, name), key, str(path))
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in fields:
            raise ConfigError(f"unknown option {name!r}")
        values[name] = _coerce(value, getattr(base, name), name, "command line")
    cfg = dataclasses.replace(base, **values)
    validate = getattr(cfg, "validate", None)
    if validate:
        try:
            validate()
        except ConfigError as exc:
            where = f"{path} (with command-line overrides)" if path is not None else "options"
            raise ConfigError(f"{where}: {exc}") from None
    return cfg


def to_toml(cfg: Any, section: str | None = None) -> str:
    """Render a flat dataclass as TOML (strings, numbers and booleans only)."""
    lines = [f"[{section}]"] if section else []
    for field in dataclasses.fields(cfg):
        value = getattr(cfg, field.name)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{field.name} = {text}")
    return "\n".join(lines) + "\n"
