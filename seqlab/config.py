"""Configuration: frozen dataclasses loaded from TOML, with command-line overrides on top.

A config file is flat (``key = value``) or has its fields under one table named after the
pipeline (``[word2vec]``); unknown keys are an error naming the file and the key, so a typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from seqlab.errors import ConfigError

T = TypeVar("T")


def _coerce(value: Any, default: Any, key: str, source: str) -> Any:
    if default is None or value is None:
        return value
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{source}: {key} must be true or false, got {value!r}")
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {key} must be a number, got {value!r}")
        if kind is int and float(value) != int(value):
            raise ConfigError(f"{source}: {key} must be an integer, got {value!r}")
        return kind(value)
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{source}: {key} must be a string, got {value!r}")
    return value


def read_toml(path: str | os.PathLike, section: str | None = None) -> dict[str, Any]:
    """Read a TOML file into a dict (the ``section`` table if the file has one)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such config file")
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML ({exc})") from None
    if section and isinstance(data.get(section), dict):
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
