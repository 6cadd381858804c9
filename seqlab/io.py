"""File helpers: compressed text, atomic writes and checkpoints.

Every artefact seqlab writes goes to ``path.tmp`` first and is moved onto its final name with
``os.replace``, so an interrupted run never leaves a half-written model file behind.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import torch

from seqlab.errors import DataError

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def check_readable(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path, or raise DataError naming it when it is missing or unreadable."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected a file")
    if not os.access(p, os.R_OK):
        raise DataError(f"{p}: permission denied")
    return p


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open a plain, .gz, .bz2 or .xz file for reading bytes (decompressing on the fly)."""
    p = check_readable(path)
    opener = _OPENERS.get(p.suffix.lower())
    try:
        return opener(p, "rb") if opener else open(p, "rb")
    except OSError as exc:
        raise DataError(f"{p}: cannot open ({exc.strerror or exc})") from None


def open_text(path: str | os.PathLike, encoding: str = "utf-8") -> IO[str]:
    """Open a plain, .gz, .bz2 or .xz text file for reading (strict decoding)."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors="strict", newline=None)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success move it onto ``path`` atomically."""
    final = Path(path)
    if final.parent and not final.parent.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` only when the block succeeds."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """torch.save ``state`` to ``path`` atomically (temp file + rename)."""
    with atomic_open(path, "wb") as fh:
        torch.save(state, fh)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, with a clear error when it is not one."""
    p = check_readable(path)
    try:
        state = torch.load(p, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises many kinds for a corrupt or foreign file
        raise DataError(f"{p}: not a readable seqlab checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or "kind" not in state:
        raise DataError(f"{p}: not a seqlab checkpoint")
    return state


def read_lines(path: str | os.PathLike, stream: IO[bytes] | None = None) -> list[str]:
    """All lines of a UTF-8 text file (plain, .gz, .bz2, .xz) without their newlines.

    Lines end at ``\\n`` only (a stray ``\\r`` stays in the line, as sacrebleu reads files). ``stream``
    reads those bytes instead of opening ``path`` (which then only names the input in errors, e.g.
    ``-`` for stdin). Invalid UTF-8 raises DataError naming the file and the line.
    """
    if stream is not None:
        data = stream.read()
    else:
        with open_binary(path) as fh:
            try:
                data = fh.read()
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise DataError(f"{path}: cannot read ({exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}: line {line} is not valid UTF-8 (byte {exc.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def save_model_dir(directory: str | os.PathLike, state: dict[str, Any], name: str = "model.pt") -> Path:
    """Write ``state`` as ``directory/name`` atomically (creating the directory); returns the directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(state, out / name)
    return out


def load_model_dir(path: str | os.PathLike, kind: str, what: str,
                   name: str = "model.pt") -> tuple[Path, dict[str, Any]]:
    """(file, state) of a model saved by :func:`save_model_dir`: ``path`` is the directory or the file.

    Raises DataError naming the path when it is a directory without ``name``, missing, unreadable, or a
    checkpoint of another ``kind`` (``what`` names the expected model in the message, e.g. ``seq2seq``).
    """
    p = Path(path)
    file = p / name if p.is_dir() else p
    if p.is_dir() and not file.exists():
        raise DataError(f"{p}: not a seqlab {what} model directory (no {name})")
    state = load_checkpoint(file)
    if state.get("kind") != kind:
        raise DataError(f"{file}: not a {what} model (it holds a {state.get('kind')!r} checkpoint)")
    return file, state


@contextlib.contextmanager
def incompatible_checkpoint(file: str | os.PathLike, what: str) -> Iterator[None]:
    """Turn the errors of rebuilding a model from a foreign or older checkpoint into one DataError."""
    try:
        yield
    except (TypeError, KeyError, RuntimeError) as exc:
        raise DataError(f"{file}: incompatible {what} checkpoint ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0]})") from None
