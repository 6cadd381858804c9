"""Word vectors on disk: word2vec text and binary, GloVe text and seqlab's native directory.

Everything here deals in paths and in words with their (V, D) float32 matrix (and, for the native format,
their corpus counts); :class:`~seqlab.embeddings.keyed_vectors.KeyedVectors` is built on top.

* word2vec text (``.txt``/``.vec``, optionally ``.gz``/``.bz2``/``.xz``), as written by word2vec.c
  (``-binary 0``) and gensim's ``save_word2vec_format``: a header line ``V D``, then ``word v1 ... vD``.
* GloVe text (Pennington, Socher & Manning 2014; Stanford's ``glove.*.txt``, glove.c's ``-write-header 0``):
  the same rows without the header. A text name (``.txt``/``.vec``) reads either: a first line of a word and
  at least two numbers is a GloVe row, anything else must be a header. A one-dimensional GloVe row
  (``word 0.5``) looks like a header, so such a file needs ``fmt="glove"`` (or a ``.glove`` name), which
  reads and writes GloVe text with no header whatever the name. A regular file whose name says no format
  (``glove.6B.50d``, ``vectors.gz``) is read as text too, header or not.
* word2vec binary (``.bin``, optionally compressed): the header, then ``word `` and D little-endian float32
  per word, with or without word2vec.c's newline after each vector.
* native: a directory of ``vectors.npy`` (float32 or float16), ``vocab.tsv`` (``word<TAB>count``) and
  ``meta.json``; it loads fast (memory-mapped) and can ship float16. A directory may hold more matrices
  (``NAME.npy``, the same dtype and width, listed in meta.json's ``"arrays"``) and more settings (other keys of
  meta.json): fastText vectors keep their n-gram rows as ``ngrams.npy`` and their settings as ``"fasttext":
  {"min_n", "max_n", "bucket"}`` (:mod:`seqlab.embeddings.fasttext_vectors`); readers of plain vectors
  ignore both.

Hostile files: nothing is allocated for more rows than the file's size can hold, whatever a header
claims; a row with a NaN or an infinity is refused with its line (a diverged training run would make every
cosine NaN); words must be unique. A save is atomic: a full disk or a crash leaves the previous vectors
whole (see the native format's notes below).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import os
import shutil
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from seqlab.errors import ConfigError, DataError
from seqlab.io import atomic_path, check_readable, open_binary, stamp

FORMATS = ("text", "bin", "native", "glove")
FORMAT_NAMES = {"text": "word2vec text", "bin": "word2vec binary", "native": "seqlab native", "glove": "GloVe text"}
NATIVE_FORMAT = "seqlab-keyed-vectors"
NATIVE_VERSION = 1
NATIVE_DTYPES = ("float32", "float16")
MAX_VECTOR_SIZE = 2**31 - 1  # far above any real embedding; numpy cannot even shape an empty (0, 2**61) matrix
_COMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_BLOCK_BYTES = 64 << 20  # a text file of unknown size: the matrix grows from this, doubling
_CHECK_ROWS = 1 << 16  # rows checked for NaN at a time


class Vectors(NamedTuple):
    """What a vectors file holds: ``words`` (V,), ``matrix`` (V, D) float32 and ``counts`` (V,) int64
    (corpus frequencies; None when the file has none)."""

    words: list[str]
    matrix: np.ndarray
    counts: np.ndarray | None = None


def format_of(path: str | os.PathLike, fmt: str | None = None) -> str:
    """``fmt`` (checked), or the format the name says: ``text`` for .txt/.vec, ``glove`` for .glove, ``bin`` for
    .bin (each maybe compressed: .gz, .bz2, .xz), ``native`` for anything else."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSORS:
        suffixes.pop()
    last = suffixes[-1] if suffixes else ""
    return {".txt": "text", ".vec": "text", ".glove": "glove", ".bin": "bin"}.get(last, "native")


def read_vectors(path: str | os.PathLike, fmt: str | None = None, limit: int | None = None,
                 keep: Callable[[str], bool] | None = None) -> Vectors:
    """Read the vectors at ``path`` (a directory is native; otherwise ``fmt`` or the name says the format,
    and a regular file whose name says none is text: word2vec or GloVe).

    ``limit``: read only the first ``limit`` rows. ``keep``: return only the rows whose word it accepts
    (a text file then never holds the others in memory: GloVe's 2.2M-word files need that). DataError names
    the file and line (or word, or row) of anything malformed.
    """
    path = Path(path)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    guessed = fmt is None and path.is_file() and format_of(path) == "native"
    fmt = "native" if fmt is None and path.is_dir() else "text" if guessed else format_of(path, fmt)
    if fmt == "native":
        return _kept(_read_native(_surviving(path), limit), keep)
    if fmt == "bin":
        return _kept(_read_binary(path, limit), keep)
    try:
        return _read_text(path, limit, keep, glove=fmt == "glove")
    except DataError as exc:
        if not guessed:
            raise
        raise DataError(f"{exc} (read as word2vec or GloVe text, as the name {path.name!r} says no format; "
                        f"word2vec binary needs a .bin name or fmt='bin')") from None


def write_vectors(path: str | os.PathLike, words: Sequence[str], matrix: np.ndarray,
                  counts: np.ndarray | None = None, fmt: str | None = None, dtype: str = "float32",
                  arrays: dict[str, np.ndarray] | None = None, meta: dict | None = None) -> Path:
    """Write ``words`` and their ``matrix`` (V, D) to ``path`` atomically, in ``fmt`` or the format the
    name says (``glove``: word2vec text without its header line); returns the path. ``dtype="float16"``
    halves a native directory (word2vec and GloVe files are always float32); ``counts`` (V,) are kept by the
    native format only. Rows with a NaN or an infinity (once stored as ``dtype``) and words the format
    cannot hold are refused with DataError; so is a full disk, which leaves the previous vectors as they were.
    ``arrays`` (name -> (n, D) matrix, saved as ``name.npy`` in ``dtype``) and ``meta`` (more keys of meta.json)
    are for the native format only.
    """
    path = Path(path)
    fmt = format_of(path, fmt)
    if fmt != "native" and dtype != "float32":
        raise ValueError(f"dtype={dtype!r} is only for the native format; {path} is {FORMAT_NAMES[fmt]}")
    if dtype not in NATIVE_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(NATIVE_DTYPES)}, got {dtype!r}")
    words, matrix = list(words), np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(f"matrix must have shape ({len(words)}, D) for {len(words)} words, got {matrix.shape}")
    if fmt == "glove" and 0 in matrix.shape:  # no header: the file alone could not say D
        raise DataError(f"{path}: GloVe text cannot hold {matrix.shape[0]} x {matrix.shape[1]} vectors (no header "
                         f"to say their size); use word2vec text or the native format")
    _check_storable(path, words, matrix, dtype)
    arrays = {name: np.asarray(a, dtype=np.float32) for name, a in (arrays or {}).items()}
    if (arrays or meta) and fmt != "native":
        raise ValueError(f"{path}: more matrices and settings are for the native format only")
    for name, extra in arrays.items():
        if not name.isidentifier() or name in ("vectors", "vocab", "meta") or extra.ndim != 2 \
                or extra.shape[1] != matrix.shape[1]:
            raise ValueError(f"array {name!r} must be an (n, {matrix.shape[1]}) matrix with a plain new name")
        bad = _first_bad_row(extra, dtype)
        if bad is not None:
            raise DataError(f"{path}: row {bad + 1} of {name} holds NaN or infinity (as {dtype}); refusing to save it")
    if fmt == "native":
        _save_native(path, Vectors(words, matrix, counts), dtype, arrays, meta or {})
    else:
        _save_word2vec(path, words, matrix, fmt)
    return path


def convert_vectors(source: str | os.PathLike, target: str | os.PathLike, source_fmt: str | None = None,
                    target_fmt: str | None = None, dtype: str = "float32") -> Vectors:
    """Read the vectors at ``source`` (as :func:`read_vectors`: ``source_fmt`` or the name says the format)
    and write them to ``target`` (as :func:`write_vectors`: ``target_fmt`` or the name; ``dtype`` for a
    native directory), their counts (and fastText's n-grams) too when both are native directories; returns
    what was read. A word2vec or GloVe target of fastText vectors gets the vocabulary alone, with a warning."""
    target_fmt = format_of(target, target_fmt)
    if dtype != "float32" and target_fmt != "native":
        raise ConfigError(f"{target}: dtype {dtype} is only for the native format, not {FORMAT_NAMES[target_fmt]}")
    vectors = read_vectors(source, source_fmt)
    arrays, meta = _fasttext_extras(source, source_fmt)
    if arrays and target_fmt != "native":
        from seqlab.log import warn

        warn(f"{target}: {FORMAT_NAMES[target_fmt]} format holds the vocabulary's vectors only; the fastText "
             f"n-grams of {source} are left out (words outside the vocabulary get no vector)", __name__)
        arrays, meta = None, None
    write_vectors(target, *vectors, fmt=target_fmt, dtype=dtype, arrays=arrays, meta=meta)
    return vectors


def _fasttext_extras(source: str | os.PathLike, source_fmt: str | None) -> tuple[dict | None, dict | None]:
    """The n-gram matrix and settings of fastText vectors in a native directory (None, None for others)."""
    path = Path(source)
    if not (path.is_dir() and source_fmt in (None, "native")):
        return None, None
    meta, _ = read_native_extras(path, [])
    if "fasttext" not in meta:
        return None, None
    _, arrays = read_native_extras(path, ["ngrams"])
    return arrays, {"fasttext": meta["fasttext"]}


def _kept(vectors: Vectors, keep: Callable[[str], bool] | None) -> Vectors:
    """Only the rows of ``vectors`` whose word ``keep`` accepts (all of them when ``keep`` is None)."""
    if keep is None:
        return vectors
    rows = [i for i, word in enumerate(vectors.words) if keep(word)]
    counts = None if vectors.counts is None else vectors.counts[rows]
    return Vectors([vectors.words[i] for i in rows], vectors.matrix[rows], counts)


# ------------------------------------------------------------------------ word2vec formats
def _save_word2vec(path: Path, words: list[str], matrix: np.ndarray, fmt: str) -> None:
    """word2vec text or binary (``fmt`` ``text``/``bin``), or GloVe text (``glove``: the text rows alone)."""
    binary = fmt == "bin"
    for word in words:
        if not word or " " in word or "\n" in word:
            raise DataError(
                f"{path}: word {word!r} cannot be stored in {FORMAT_NAMES[fmt]} format (empty, space or newline)"
            )
    row_format = " ".join(["%.9g"] * matrix.shape[1])  # 9 significant digits round-trip any float32
    opener = _COMPRESSORS.get(path.suffix.lower(), open)
    try:
        with atomic_path(path) as tmp, opener(tmp, "wb") as fh:
            if fmt != "glove":
                fh.write(f"{len(words)} {matrix.shape[1]}\n".encode())
            for word, row in zip(words, matrix, strict=True):
                if binary:  # word2vec.c: "word " + D little-endian float32 + "\n"
                    fh.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
                else:
                    fh.write(f"{word} {row_format % tuple(row.tolist())}\n".encode())
    except OSError as exc:  # a full disk, a read-only place: the previous file is left as it was
        raise DataError(f"{path}: cannot write the vectors ({exc.strerror or exc})") from None


def _read_header(path: Path, line: bytes, text: bool = False) -> tuple[int, int]:
    try:
        vocab_size, vector_size = (int(x) for x in line.decode("utf-8").split())
    except (ValueError, UnicodeDecodeError):
        expected = "a word2vec header 'vocab_size vector_size'" + (" or a GloVe row 'word v1 v2 ...'" if text else "")
        hint = "; a GloVe file of one dimension needs fmt='glove' (or a .glove name)" \
            if text and _glove_size(line, least=1) == 1 else ""
        raise DataError(f"{path}: line 1: expected {expected}, got {line[:60]!r}{hint}") from None
    if vocab_size < 0 or vector_size < 1:
        raise DataError(f"{path}: line 1: bad word2vec header {vocab_size} x {vector_size}")
    if vector_size > MAX_VECTOR_SIZE:
        raise DataError(f"{path}: line 1: bad word2vec header {vocab_size} x {vector_size}: more than "
                        f"{MAX_VECTOR_SIZE:,} dimensions, which no vectors file holds; is this a word2vec file?")
    return vocab_size, vector_size


def _glove_size(line: bytes, least: int = 2) -> int | None:
    """D when ``line`` is a GloVe row (a word, then D >= ``least`` numbers); None otherwise (a header, say)."""
    try:
        values = line.decode("utf-8").rstrip().partition(" ")[2].split()
        if len(values) < least:
            return None
        for value in values:
            float(value)
    except (UnicodeDecodeError, ValueError):
        return None
    return len(values)


def _room(wanted: int, row_bytes: int, size: int | None, slack: int = 0) -> int:
    """Rows to allocate before reading: ``wanted``, but never more than ``size`` bytes can hold at
    ``row_bytes`` or more each (``slack``: bytes the last row may lack), so that a header claiming
    billions of rows cannot make us allocate them; none yet when the size is unknown (compressed
    text: the matrix then grows as rows arrive)."""
    return 0 if size is None else min(wanted, (size + slack) // row_bytes)


def _plain_size(path: Path, header: bytes) -> int | None:
    """Bytes after the header of an uncompressed regular file; None for compressed files and pipes."""
    if path.suffix.lower() in _COMPRESSORS:
        return None
    info = path.stat()
    return info.st_size - len(header) if stat.S_ISREG(info.st_mode) else None


def _read_text(path: Path, limit: int | None, keep: Callable[[str], bool] | None, glove: bool = False) -> Vectors:
    """word2vec text, or GloVe text when the first line is a row rather than a header (always with ``glove``)."""
    with open_binary(path) as fh:
        try:
            first = fh.readline()
            glove_size = _glove_size(first, least=1 if glove else 2)
            if glove and glove_size is None:
                raise DataError(f"{path}: line 1: expected a GloVe row 'word v1 ... vD', got {first[:60]!r}")
            if glove_size is None:
                header = _read_header(path, first, text=True)
                wanted = header[0] if limit is None else min(header[0], limit)
                # " 0 0\n" is the shortest row; a filtered read grows its matrix as kept rows arrive
                rows = 0 if keep is not None else _room(wanted, 2 * header[1] + 1, _plain_size(path, first), slack=1)
                hint = "; if line 1 is a one-dimensional GloVe row, not a header, read the file with fmt='glove'"
                words, matrix, lines = _read_text_rows(path, fh, header, wanted, rows, keep, hint=hint)
            else:  # no header: read to the end, the matrix growing as rows arrive
                header = (None, glove_size)
                wanted = sys.maxsize if limit is None else limit
                hint = "; line 1 looks like a word2vec header: read the file as word2vec text (fmt='text'), not " \
                    "GloVe" if glove and _is_header(first) else ""
                words, matrix, lines = _read_text_rows(path, fh, header, wanted, 0, keep, first, hint)
        except (OSError, EOFError) as exc:  # a damaged .gz and the like
            raise DataError(f"{path}: cannot read ({exc})") from None
    _check_finite(path, matrix, words, "line", lines)
    return Vectors(words, matrix)


def _is_header(line: bytes) -> bool:
    """Whether ``line`` could be a word2vec header: two whole numbers."""
    parts = line.split()
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def _check_new(path: Path, seen: set[str], word: str, where: str) -> None:
    if word in seen:
        raise DataError(f"{path}: {where}: duplicate word {word!r}")
    seen.add(word)


def _grown(matrix: np.ndarray, wanted: int) -> np.ndarray:
    """``matrix`` with room for more rows (at most ``wanted``): doubled, or a first block of ~64 MiB."""
    rows = min(wanted, max(2 * len(matrix), _BLOCK_BYTES // (4 * matrix.shape[1]), 1))
    bigger = np.empty((rows, matrix.shape[1]), dtype=matrix.dtype)
    bigger[: len(matrix)] = matrix
    return bigger


def _read_text_rows(path: Path, fh, header: tuple[int | None, int], wanted: int, rows: int,
                    keep: Callable[[str], bool] | None, first: bytes | None = None, hint: str = ""
                    ) -> tuple[list[str], np.ndarray, list[int]]:
    """(words, matrix, the line number of each row) of the next ``wanted`` rows of ``fh``, of which ``keep``
    accepts the words; ``header`` is (V, D) from the header line, or (None, D) for GloVe, whose rows start
    with ``first`` (already read) and may end early. ``rows``: rows to allocate before reading. ``hint``
    ends the message of a line 2 with one value where D were expected, or D values where one was (the first
    line was then maybe not what it was taken for)."""
    vocab_size, vector_size = header
    line_no = 1 if vocab_size is None else 2
    words: list[str] = []
    lines: list[int] = []
    seen: set[str] = set()
    matrix = np.empty((rows, vector_size), dtype=np.float32)
    done = 0
    while done < wanted:
        if first is not None:
            raw, first = first, None
        else:
            raw = fh.readline()
        if not raw:
            if vocab_size is None:
                break
            raise DataError(f"{path}: line {line_no}: file ends after {done} of {wanted} vectors (header: "
                            f"{vocab_size} x {vector_size}); it is truncated or its header is wrong")
        try:
            line = raw.decode("utf-8").rstrip()
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: line {line_no}: not valid UTF-8 ({exc.reason})") from None
        if line or vocab_size is not None:  # GloVe files may have blank lines
            word, _, rest = line.partition(" ")
            values = rest.split()
            if len(values) != vector_size:
                suspect = line_no == 2 and 1 in (len(values), vector_size)
                raise DataError(f"{path}: line {line_no}: expected {vector_size} values after {word!r}, got "
                                f"{len(values)}{hint if suspect else ''}")
            done += 1
            if keep is None or keep(word):
                if len(words) == len(matrix):
                    matrix = _grown(matrix, wanted)
                try:
                    matrix[len(words)] = values
                except ValueError:
                    raise DataError(
                        f"{path}: line {line_no}: word {word!r} has a value that is not a number"
                    ) from None
                _check_new(path, seen, word, f"line {line_no}")
                words.append(word)
                lines.append(line_no)
        line_no += 1
    if len(words) < len(matrix):  # room grown (or allocated) for rows that did not come
        matrix.resize((len(words), vector_size), refcheck=False)
    return words, matrix, lines


def _read_binary(path: Path, limit: int | None) -> Vectors:
    with open_binary(path) as fh:
        try:
            header = _read_header(path, fh.readline())
            wanted = header[0] if limit is None else min(header[0], limit)
            words, matrix = _read_binary_rows(path, fh, header, wanted)
        except (OSError, EOFError) as exc:  # a damaged .gz and the like
            raise DataError(f"{path}: cannot read ({exc})") from None
    _check_finite(path, matrix, words, "word", range(1, len(words) + 1))
    return Vectors(words, matrix)


def _read_binary_rows(path: Path, fh, header: tuple[int, int], wanted: int) -> tuple[list[str], np.ndarray]:
    data = fh.read()
    row_bytes = 4 * header[1]
    words: list[str] = []
    seen: set[str] = set()
    matrix = np.empty((_room(wanted, row_bytes + 1, len(data)), header[1]), dtype=np.float32)  # " " + D floats
    pos = 0
    for i in range(wanted):
        while data[pos : pos + 1] == b"\n":  # word2vec.c ends each vector with \n, gensim does not
            pos += 1
        space = data.find(b" ", pos)
        if space < 0 or len(data) - (space + 1) < row_bytes:
            raise DataError(f"{path}: truncated: file ends in word {i + 1} of {wanted} (header: "
                            f"{header[0]} x {header[1]}); it is truncated or its header is wrong")
        if b"\n" in data[pos:space]:  # word2vec.c's words never hold one: this is text (or damaged)
            raise DataError(f"{path}: word {i + 1} (byte {pos}): holds a newline, so this is not word2vec binary; "
                            f"is it a text file (.txt, .vec or .glove)?")
        try:
            word = data[pos:space].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: word {i + 1} (byte {pos}): not valid UTF-8 ({exc.reason})") from None
        matrix[i] = np.frombuffer(data, dtype="<f4", count=header[1], offset=space + 1)
        _check_new(path, seen, word, f"word {i + 1}")
        words.append(word)
        pos = space + 1 + row_bytes
    return words, matrix


def _first_bad_row(matrix: np.ndarray, dtype: str = "float32") -> int | None:
    """Index of the first row of ``matrix`` (V, D) with a NaN or an infinity once stored as ``dtype``."""
    for start in range(0, len(matrix), _CHECK_ROWS):  # in blocks: no full-size temporary
        with np.errstate(over="ignore"):  # float32 -> float16 overflow is what we look for
            block = np.asarray(matrix[start : start + _CHECK_ROWS], dtype=dtype)
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            return start + int(bad.argmax())
    return None


def _check_finite(path: Path, matrix: np.ndarray, words: Sequence[str], where: str, numbers: Sequence[int]) -> None:
    """Refuse vectors read with NaN or infinite values: their cosines are NaN, so every query would be
    garbage. The message names the row as ``where`` ``numbers[row]`` (``line 2`` for the first row of a
    word2vec text file)."""
    bad = _first_bad_row(matrix, matrix.dtype.name)
    if bad is not None:
        raise DataError(
            f"{path}: {where} {numbers[bad]}: word {words[bad]!r} has a NaN or infinite value; the vectors are "
            f"damaged (a diverged training run?): retrain them or remove that row"
        )


def _check_storable(path: Path, words: Sequence[str], matrix: np.ndarray, dtype: str) -> None:
    """Refuse to write vectors that the loader would refuse: NaN or infinite once stored as ``dtype``."""
    bad = _first_bad_row(matrix, dtype)
    if bad is not None:
        raise DataError(
            f"{path}: word {words[bad]!r} (row {bad + 1}) has a NaN or infinite value as {dtype}; refusing "
            f"to write it (a diverged training run?{' float16 holds at most 65504' if dtype == 'float16' else ''})"
        )


# --------------------------------------------------------------------------- native format
# A save writes NAME.tmp, moves the previous NAME aside to NAME.old.tmp, moves NAME.tmp onto NAME and
# removes NAME.old.tmp. A crash between the two moves leaves the previous vectors at NAME.old.tmp: the
# loader reads them there while NAME is missing, and the next save finishes the clean-up.
def _aside(path: Path) -> Path:
    return path.with_name(path.name + ".old.tmp")


def _surviving(path: Path) -> Path:
    """``path``, or the previous vectors a crashed save left aside when ``path`` itself is missing."""
    if not path.exists() and not path.is_symlink() and (_aside(path) / "meta.json").is_file():
        return _aside(path)
    return path


def _save_native(path: Path, vectors: Vectors, dtype: str, arrays: dict[str, np.ndarray], more: dict) -> None:
    for word in vectors.words:
        if any(ch in word for ch in "\t\n\r"):
            raise DataError(f"{path}: word {word!r} contains a tab or newline; vocab.tsv cannot hold it")
    if path.exists() and not _is_replaceable(path):
        raise DataError(f"{path}: exists and is not a seqlab vectors directory; refusing to replace it")
    tmp, old = path.with_name(path.name + ".tmp"), _aside(path)
    try:
        _remove(tmp)  # what a crashed save left
        if path.exists():
            _remove(old)  # the new vectors were in place: the old ones are not needed
        tmp.mkdir(parents=True)
        _write_native_files(tmp, vectors, dtype, arrays, more)
        if path.exists():
            os.replace(path, old)  # kept whole (and loadable) until the new one is in place
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a read-only place
        with contextlib.suppress(OSError):
            if not path.exists() and old.is_dir():
                os.replace(old, path)
        raise DataError(f"{path}: cannot write the vectors ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            _remove(tmp)
    with contextlib.suppress(OSError):  # saved; a leftover is removed by the next save
        _remove(old)


def _write_native_files(directory: Path, vectors: Vectors, dtype: str, arrays: dict[str, np.ndarray],
                        more: dict) -> None:
    """vectors.npy, vocab.tsv, the other arrays and meta.json into a new ``directory``, each synced to the disk."""
    words, matrix, counts = vectors
    meta = stamp({
        **more,
        "format": NATIVE_FORMAT,
        "version": NATIVE_VERSION,
        "vocab_size": len(words),
        "vector_size": matrix.shape[1],
        "dtype": dtype,
        "has_counts": counts is not None,
        **({"arrays": sorted(arrays)} if arrays else {}),
    })
    counts = np.zeros(len(words), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    with open(directory / "vectors.npy", "wb") as fh:
        np.save(fh, matrix.astype(dtype), allow_pickle=False)
        _sync(fh)
    for name, extra in arrays.items():
        with open(directory / f"{name}.npy", "wb") as fh:
            np.save(fh, extra.astype(dtype), allow_pickle=False)
            _sync(fh)
    with open(directory / "vocab.tsv", "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(f"{word}\t{count}\n" for word, count in zip(words, counts.tolist(), strict=True))
        _sync(fh)
    with open(directory / "meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
        _sync(fh)


def _sync(fh) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _is_replaceable(path: Path) -> bool:
    """Only an empty directory or one we wrote may be replaced by a save."""
    if not path.is_dir():
        return False
    if not any(path.iterdir()):
        return True
    try:
        return json.loads((path / "meta.json").read_text(encoding="utf-8")).get("format") == NATIVE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _read_native(path: Path, limit: int | None) -> Vectors:
    if not path.is_dir():
        if path.exists():
            raise DataError(
                f"{path}: not a seqlab vectors directory; word2vec files need a .txt, .vec or .bin name (or fmt), "
                f"GloVe text a .glove name or fmt='glove'"
            )
        raise DataError(f"{path}: no such vectors directory")
    meta_path = check_readable(path / "meta.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        shape = (_whole(meta["vocab_size"]), _whole(meta["vector_size"]))
        ok = meta["format"] == NATIVE_FORMAT and meta["dtype"] in NATIVE_DTYPES
        ok = ok and _whole(meta["version"]) <= NATIVE_VERSION
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise DataError(f"{meta_path}: not a seqlab vectors meta.json") from None
    if not ok:
        raise DataError(f"{meta_path}: unsupported format {meta.get('format')} v{meta.get('version')}")
    wanted = shape[0] if limit is None else min(shape[0], limit)
    vectors_path = check_readable(path / "vectors.npy")
    try:
        stored = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:  # EOFError: an empty file
        raise DataError(f"{vectors_path}: not a readable .npy file ({exc})") from None
    if stored.shape != shape or stored.dtype != np.dtype(meta["dtype"]):
        raise DataError(
            f"{vectors_path}: holds {stored.dtype} {stored.shape}, meta.json says {meta['dtype']} {shape}"
        )
    words, counts = _read_vocab(check_readable(path / "vocab.tsv"), wanted)
    _check_finite(vectors_path, stored[:wanted], words, "row", range(1, wanted + 1))
    matrix = np.array(stored[:wanted], dtype=np.float32)
    return Vectors(words, matrix, counts if meta.get("has_counts") else None)


def read_native_extras(path: str | os.PathLike, names: Sequence[str]) -> tuple[dict, dict[str, np.ndarray]]:
    """The meta.json of the native directory at ``path`` and its extra float32 matrices ``names`` (see the
    module: ``NAME.npy``, listed in meta.json's ``"arrays"``); DataError when one is missing or malformed."""
    path = _surviving(Path(path))
    meta_path = check_readable(path / "meta.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        listed, width, dtype = meta.get("arrays", []), _whole(meta["vector_size"]), np.dtype(meta["dtype"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        raise DataError(f"{meta_path}: not a seqlab vectors meta.json") from None
    arrays = {}
    for name in names:
        if not isinstance(listed, list) or name not in listed:
            raise DataError(f"{path}: holds no {name} matrix (meta.json lists {listed!r})")
        array_path = check_readable(path / f"{name}.npy")
        try:
            stored = np.load(array_path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{array_path}: not a readable .npy file ({exc})") from None
        if stored.ndim != 2 or stored.shape[1] != width or stored.dtype != dtype:
            raise DataError(f"{array_path}: holds {stored.dtype} {stored.shape}, meta.json says {dtype} (n, {width})")
        bad = _first_bad_row(stored, stored.dtype.name)
        if bad is not None:
            raise DataError(f"{array_path}: row {bad + 1} holds NaN or infinity")
        arrays[name] = np.array(stored, dtype=np.float32)
    return meta, arrays


def _whole(value: object) -> int:
    """A count of meta.json: a JSON integer (not 2.5, 1e400, true or "3"); TypeError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _read_vocab(path: Path, wanted: int) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    seen: set[str] = set()
    counts = np.zeros(wanted, dtype=np.int64)
    with open_binary(path) as fh:
        for i in range(wanted):
            raw = fh.readline()
            try:
                word, tab, count = raw.decode("utf-8").rstrip("\n").rpartition("\t")
                if not tab:
                    raise ValueError
                counts[i] = int(count)
            except UnicodeDecodeError:
                raise DataError(f"{path}: line {i + 1}: not valid UTF-8") from None
            except OverflowError:  # numpy's int64
                raise DataError(f"{path}: line {i + 1}: count {count[:40]!r} of {word[:40]!r} does not fit in 64 "
                                f"bits") from None
            except ValueError:
                what = "file ends early" if not raw else f"expected 'word<TAB>count', got {raw[:60]!r}"
                raise DataError(f"{path}: line {i + 1}: {what}") from None
            _check_new(path, seen, word, f"line {i + 1}")
            words.append(word)
    return words, counts
