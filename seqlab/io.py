"""File helpers: compressed text, atomic writes and checkpoints.

Every artefact seqlab writes goes to ``path.tmp`` first and is moved onto its final name with
``os.replace``, so an interrupted run never leaves a half-written model file behind.
"""

from __future__ import annotations

import bz2
import contextlib
import glob
import gzip
import io
import lzma
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from seqlab.errors import DataError

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
VERSION_KEY = "seqlab_version"


def stamp(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta``, the metadata of an artefact about to be written, with ``"seqlab_version"``: the seqlab that
    writes it. Every format with a place for metadata passes it through here: the safetensors header of a
    model or checkpoint (:func:`save_checkpoint`), a native vectors directory's ``meta.json``, and the settings
    beside a model or vectors (``config.toml``, ``NAME.toml``: a ``# seqlab_version = "..."`` comment, from
    :func:`seqlab.config.to_toml`). word2vec ``.txt``/``.bin`` files and their ``.vocab`` have no such place.
    Loaders never require the key: files of seqlab 0.1 have none."""
    from seqlab import __version__

    return {**meta, VERSION_KEY: __version__}


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
    """Yield a temporary path next to ``path``; on success move it onto ``path`` atomically.

    A failed write (a full disk, a read-only place) raises DataError naming ``path``; the temporary
    file is removed and a previous ``path`` is left as it was.
    """
    final = Path(path)
    tmp = final.with_name(final.name + ".tmp")
    try:
        if final.parent and not final.parent.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        raise DataError(f"{final}: cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            if tmp.exists() or tmp.is_symlink():
                tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` only when the block succeeds."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def check_writable(path: str | os.PathLike, directory: bool | None = False) -> Path:
    """Raise DataError naming ``path`` unless a file (``directory`` False), a directory and its files
    (True) or either (None: vectors, whose format follows the name) can be created there; checked
    before the work starts, so a run never fails only at its end.

    Creates missing parent directories (or the directory itself), as writing would.
    """
    p = Path(path)
    if p.is_dir() and directory is False:
        raise DataError(f"{p}: is a directory; give a file name")
    if p.exists() and directory and not p.is_dir():
        raise DataError(f"{p}: is a file; give a directory")
    place = p if directory else p.parent
    try:
        place.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".probe", dir=place)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataError(f"{p}: cannot write there ({exc.strerror or exc})") from None
    return p


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the ``*.tmp`` files a killed run left for ``path`` (``path.tmp``, ``path.ckpt.tmp``, and
    inside a directory ``path``); call only while holding :func:`claim_output`. Returns them."""
    p = Path(path)
    stale = list(p.parent.glob(glob.escape(p.name) + "*.tmp")) if p.name else []
    if p.is_dir():
        stale += list(p.glob("*.tmp"))
    for tmp in stale:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return stale


@contextlib.contextmanager
def claim_output(path: str | os.PathLike, directory: bool | None = False) -> Iterator[Path]:
    """Hold ``path`` for one run's writes: it must be writable (:func:`check_writable`), and a second
    seqlab run writing the same output is refused with a one-line DataError while this block runs.

    The lock is ``path.lock`` beside the output, an ``flock`` the kernel drops when the process dies
    (so a killed run leaves no lock that blocks the next one) holding the owner's PID for the message;
    it is removed when the block ends. Temporaries a killed run left behind are deleted once the lock
    is held. A DDP worker of rank > 0 (``RANK`` in the environment) writes nothing and takes no lock.
    """
    p = check_writable(path, directory)
    if int(os.environ.get("RANK", "0") or 0) > 0:
        yield p
        return
    lock = p.with_name(p.name + ".lock")
    fh = _acquire(lock, p)
    try:
        remove_stale_temporaries(p)
        yield p
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        fh.close()


def _acquire(lock: Path, output: Path) -> IO[str]:
    """Open and flock ``lock`` (retrying when another process removed the file meanwhile)."""
    import fcntl

    for _ in range(100):
        try:
            fh = open(lock, "a+", encoding="utf-8")
        except OSError as exc:
            raise DataError(f"{output}: cannot write there ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise DataError(f"{output}: another seqlab run (PID {holder}) is writing it; wait for that run to end "
                            f"or choose another output") from None
        try:
            same = os.fstat(fh.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file the previous holder unlinked after we opened it
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            return fh
        fh.close()
    raise DataError(f"{output}: cannot take the lock {lock}")


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state`` (a dict with a ``kind``) to ``path`` atomically, in seqlab's safe file format
    (:mod:`seqlab.state_file`: safetensors, which cannot carry code)."""
    from seqlab.state_file import dump_state

    data = dump_state(state)
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a file written by :func:`save_checkpoint`, with a clear error when it is not one.

    Files of seqlab 0.1 (pickles made by ``torch.save``) are read with ``weights_only=True``, which
    cannot run code; one that holds anything else is refused with the command that converts it.
    """
    from seqlab.legacy import load_legacy
    from seqlab.state_file import is_state_file, load_state

    p = check_readable(path)
    state = load_state(p) if is_state_file(p) else load_legacy(p)
    if not isinstance(state, dict) or "kind" not in state:
        raise DataError(f"{p}: not a seqlab checkpoint")
    return state


def convert_legacy(path: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Convert the seqlab 0.1 file ``path`` (or every ``*.pt``, ``*.ckpt`` and ``*.cooc`` file of a model
    directory) to the safe format; returns the (old, new) pairs.

    **Reads with ``torch.load(weights_only=False)``, which runs whatever code the file holds: only for
    files you trust.** ``name.pt`` becomes ``name.safetensors`` beside it (the loaders prefer it); a file
    whose name stays (``.ckpt``, ``.cooc``) is replaced, and the pickle kept as ``name.pickle``.
    """
    import shutil

    from seqlab.legacy import converted_name, unpickle
    from seqlab.state_file import is_state_file

    p = Path(path)
    files = sorted(f for pattern in ("*.pt", "*.ckpt", "*.cooc") for f in p.glob(pattern)) if p.is_dir() else [p]
    files = [check_readable(f) for f in files if not is_state_file(f)]
    if not files:
        raise DataError(f"{p}: nothing to convert (no seqlab 0.1 pickle files)")
    done = []
    for old in files:
        state, new = unpickle(old), converted_name(old)
        if new == old:
            shutil.copy2(old, old.with_name(old.name + ".pickle"))
        try:
            save_checkpoint(state, new)
        except TypeError as exc:
            raise DataError(f"{old}: holds something seqlab's safe format cannot store ({exc})") from None
        done.append((old, new))
    return done


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


def decode_utf8(data: str | bytes, what: str = "line") -> tuple[str, str | None]:
    """(text, error) of one input ``what`` (a line, a text): bytes are decoded as UTF-8; undecodable ones
    give the text with U+FFFD in place of the bad bytes (to show) and an error naming the first bad byte.
    A str that UTF-8 cannot hold (a lone surrogate, as Python makes of undecodable bytes) is an error too."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as exc:
            shown = data.encode("utf-8", "replace").decode("utf-8")
            return shown, f"not valid UTF-8 (character {exc.start + 1} of the {what} is a lone surrogate)"
        return data, None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", errors="replace"), f"not valid UTF-8 (byte {exc.start + 1} of the {what})"


def save_model_dir(directory: str | os.PathLike, state: dict[str, Any],
                   name: str = "model.safetensors") -> Path:
    """Write ``state`` as ``directory/name`` atomically (creating the directory); returns the directory."""
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out}: cannot create the directory ({exc.strerror or exc})") from None
    save_checkpoint(state, out / name)
    return out


def legacy_name(name: str) -> str:
    """The name seqlab 0.1 gave a file that is now ``name`` (``model.safetensors`` was ``model.pt``)."""
    return name.removesuffix(".safetensors") + ".pt" if name.endswith(".safetensors") else name


def with_legacy(file: str | os.PathLike) -> Path:
    """``file``, or the file of the previous name beside it when only that one exists: ``last.pt`` for
    ``last.safetensors`` (``name.pt`` for ``name.safetensors``), and ``OUTPUT.ckpt`` for the training
    checkpoint ``OUTPUT.last.safetensors`` of a file output."""
    p = Path(file)
    stem = p.name.removesuffix(".last.safetensors")
    old = p.with_name(stem + ".ckpt" if stem != p.name else legacy_name(p.name))
    return old if not p.exists() and old.exists() else p


def model_file(path: str | os.PathLike, name: str = "model.safetensors") -> Path:
    """The file of a model: ``path`` itself, or ``path/name`` (``path/model.pt`` for a 0.1 directory)."""
    p = Path(path)
    return with_legacy(p / name) if p.is_dir() else p


def load_model_dir(path: str | os.PathLike, kind: str, what: str,
                   name: str = "model.safetensors") -> tuple[Path, dict[str, Any]]:
    """(file, state) of a model saved by :func:`save_model_dir`: ``path`` is the directory or the file.

    Raises DataError naming the path when it is a directory without ``name``, missing, unreadable, or a
    checkpoint of another ``kind`` (``what`` names the expected model in the message, e.g. ``seq2seq``).
    """
    p = Path(path)
    file = model_file(p, name)
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
