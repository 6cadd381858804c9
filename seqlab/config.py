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


def setting(default: Any, help: str, *, flag: bool | str = False, choices: tuple[str, ...] | None = None) -> Any:
    """A config field declared once: its default, its help text and, with ``flag``, a dedicated option of
    the commands that train with it (``--name`` from the field's name, or the flag given, e.g.
    ``"--word-only"`` for a switch with no ``--no-`` form). The TOML key, ``--set``, the flag, its help and
    shown default, and the saved ``config.toml`` all come from this (see ``seqlab.cli.common.config_flags``).
    """
    meta = {"help": help, "flag": flag, "choices": tuple(choices) if choices else None}
    return dataclasses.field(default=default, metadata=meta)


def choice_checks(cfg: Any) -> list[tuple[bool, str]]:
    """The (ok, message) checks that every field of ``cfg`` declared with ``choices`` holds one of them."""
    return [(getattr(cfg, f.name) in f.metadata["choices"],
             f"{f.name} must be {_one_of(f.metadata['choices'])}, got {getattr(cfg, f.name)!r}")
            for f in dataclasses.fields(cfg) if f.metadata.get("choices")]


def _one_of(choices: tuple[str, ...]) -> str:
    return " or ".join(choices) if len(choices) < 3 else f"{', '.join(choices[:-1])} or {choices[-1]}"


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


def preset_path(path: str | os.PathLike) -> Path:
    """``path``, or the shipped preset it names when it is a bare name that is not a file here."""
    from seqlab.shipped import config_file

    p = Path(path)
    if p.is_file() or p.parent != Path("."):
        return p
    preset = config_file(p.name if p.suffix == ".toml" else p.name + ".toml")
    return preset if preset.is_file() else p


def _presets_hint() -> str:
    from seqlab.shipped import config_file

    names = sorted(f.stem for f in config_file("any.toml").parent.glob("*.toml"))
    return ", ".join(names) if names else "configs/"


def read_toml(path: str | os.PathLike, section: str | None = None) -> dict[str, Any]:
    """Read a TOML file into a dict (the ``section`` table if the file has one). A bare name that is not a
    file here (``digits_lenet`` or ``digits_lenet.toml``) is the preset of that name shipped in configs/."""
    p = preset_path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such config file (nor a preset of that name: see {_presets_hint()})")
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


def sections(cls: type) -> dict[str, type]:
    """The named sections of a config class: the dataclasses it is made of that set ``SECTION`` (e.g.
    seq2seq's data, model, train and decode), each declaring its own fields."""
    return {vars(base)["SECTION"]: base for base in reversed(cls.__mro__[1:])  # in the order of the fields
            if dataclasses.is_dataclass(base) and "SECTION" in vars(base)}


def part(cfg: Any, section: type[T]) -> T:
    """The ``section`` dataclass holding ``cfg``'s values of its fields (the object a model or a search takes)."""
    return section(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(section)})


def _flat_keys(data: dict[str, Any], cls: type, source: str) -> list[tuple[str, str, Any]]:
    """(field name, key as written, value) of a TOML table whose keys are fields of ``cls`` or tables named
    after its sections (one level: ``[model]`` / ``[seq2seq.model]``, or ``model.hidden_size`` in ``--set``)."""
    known = {f.name for f in dataclasses.fields(cls)}
    named = sections(cls)
    out = []
    for key, value in data.items():
        section, dot, rest = key.partition(".")
        if isinstance(value, dict) and key in named:
            out += [(k.replace("-", "_"), f"{key}.{k}", v) for k, v in value.items()]
            members = {f.name for f in dataclasses.fields(named[key])}
            stray = [k for k in value if k.replace("-", "_") not in members]
            if stray:
                raise ConfigError(f"{source}: unknown key {stray[0]!r} in [{key}] "
                                  f"(known: {', '.join(sorted(members))})")
        elif dot and section in named:
            if rest.replace("-", "_") not in {f.name for f in dataclasses.fields(named[section])}:
                raise ConfigError(f"{source}: unknown key {key!r} (section {section} has no {rest!r})")
            out.append((rest.replace("-", "_"), key, value))
        else:
            out.append((key.replace("-", "_"), key, value))
    for name, key, _ in out:
        if name not in known:
            raise ConfigError(f"{source}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    return out


def build_config(cls: type[T], path: str | os.PathLike | None = None, section: str | None = None,
                 **overrides: Any) -> T:
    """Make ``cls`` from its defaults, then the TOML file at ``path``, then non-None ``overrides``.

    The file is flat (``key = value``, or under a ``[section]`` table) or split into the tables of the
    class's :func:`sections`; an override may name its section (``model.hidden_size``).
    """
    base = cls()
    values: dict[str, Any] = {}
    if path is not None:
        for name, key, value in _flat_keys(read_toml(path, section), cls, str(path)):
            if name in values:
                raise ConfigError(f"{path}: {name} is set twice (as {name!r} and {key!r}); keep one")
            values[name] = _coerce(value, getattr(base, name), key, str(path))
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        flat = _flat_keys(given, cls, "command line")
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("command line: unknown key", "unknown option")) from None
    for name, key, value in flat:
        values[name] = _coerce(value, getattr(base, name), key, "command line")
    cfg = dataclasses.replace(base, **values)
    validate = getattr(cfg, "validate", None)
    if validate:
        try:
            validate()
        except ConfigError as exc:
            where = f"{path} (with command-line overrides)" if path is not None else "options"
            raise ConfigError(f"{where}: {exc}") from None
    return cfg


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_toml(cfg: Any, section: str | None = None) -> str:
    """Render a config dataclass as TOML (strings, numbers, booleans and lists): flat under ``[section]``,
    or, for a class made of :func:`sections`, one ``[section.name]`` table each (``[name]`` without
    ``section``). :func:`build_config` reads both. The last line records the seqlab that wrote it
    (:func:`seqlab.io.stamp`) as a comment, which every seqlab, older ones included, reads past."""
    from seqlab.io import stamp

    named = sections(type(cfg))
    groups = [(f"{section}.{name}" if section else name, dataclasses.fields(part_cls))
              for name, part_cls in named.items()] if named else [(section, dataclasses.fields(cfg))]
    lines: list[str] = []
    for title, fields in groups:
        if lines:
            lines.append("")
        if title:
            lines.append(f"[{title}]")
        lines += [f"{f.name} = {_toml_value(getattr(cfg, f.name))}" for f in fields if getattr(cfg, f.name) is not None]
    lines += ["", *(f"# {key} = {_toml_value(value)}" for key, value in stamp({}).items())]
    return "\n".join(lines) + "\n"
