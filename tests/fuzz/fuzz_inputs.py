"""Strategies and checks the fuzz modules share: hostile text and bytes, compressed files, and the
property every reader must keep (a result, or one SeqlabError whose message is one line).

Imported by the fuzz modules as a plain module (pytest puts this folder on ``sys.path``, as for every
test folder without an ``__init__.py``).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

from hypothesis import strategies as st

from seqlab.errors import SeqlabError

FUZZ, FUZZ_SLOW = "seqlab-fuzz", "seqlab-fuzz-slow"  # the profiles of conftest.py
COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
MAX_LONG_LINE = 100_000  # characters of the longest generated line

# line ends and the characters that only look like (or break) them, NUL, BOMs, odd whitespace
SEPARATORS = ["\n", "\r\n", "\r", " ", "  ", "\t", "\x00", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
              "\u2028", "\u2029", "\u3000", "\ufeff", "\u200b", "\ufffd"]
ENCODINGS = ["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]
# characters of every category: letters, marks, digits, symbols, controls, and lone surrogates (a str can hold
# them, UTF-8 cannot: a reader given one must say so, and encoders here write them as "?" or invalid bytes)
ANY_CHAR = st.characters(codec=None)
WORD = st.text(ANY_CHAR, min_size=1, max_size=12)
ASCII_WORD = st.text(st.sampled_from("abcdefghij"), min_size=1, max_size=4)


@st.composite
def long_runs(draw: st.DrawFn) -> str:
    """One character (or a short word) repeated into a line of up to ``MAX_LONG_LINE`` characters."""
    unit = draw(st.one_of(ANY_CHAR, st.sampled_from(["a", "ab ", "x\t", "\u00e9"])))
    return unit * draw(st.integers(1, MAX_LONG_LINE // len(unit)))


def hostile_text(max_pieces: int = 40) -> st.SearchStrategy[str]:
    """Words of any characters, separators and line ends of every kind, sometimes a very long line."""
    piece = st.one_of(WORD, ASCII_WORD, ASCII_WORD, st.sampled_from(SEPARATORS), st.just("\n"))
    pieces = st.lists(piece, max_size=max_pieces).map("".join)
    return st.one_of(pieces, st.tuples(pieces, long_runs(), pieces).map("".join))


@st.composite
def encoded(draw: st.DrawFn, text: st.SearchStrategy[str]) -> bytes:
    """``text`` in a random encoding (characters it lacks replaced), sometimes with random bytes spliced in."""
    data = draw(text).encode(draw(st.sampled_from(ENCODINGS)), "replace")
    if data and draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


def hostile_bytes(max_pieces: int = 40) -> st.SearchStrategy[bytes]:
    """Random bytes, or hostile text encoded (see :func:`encoded`)."""
    return st.one_of(st.binary(max_size=2048), encoded(hostile_text(max_pieces)))


@st.composite
def stored(draw: st.DrawFn, data: bytes, suffixes: tuple[str, ...] = ("", ".txt", ".gz", ".bz2", ".xz")
           ) -> tuple[str, bytes, bytes | None]:
    """(suffix, file bytes, the text the reader must see or None) for ``data`` stored under a random
    suffix: plain, compressed, compressed and truncated, or not compressed at all despite the suffix."""
    suffix = draw(st.sampled_from(suffixes))
    if suffix not in COMPRESSORS:
        return suffix, data, data
    how = draw(st.sampled_from(["whole", "whole", "truncated", "raw"]))
    if how == "raw":
        return suffix, data, None
    packed = COMPRESSORS[suffix](data)
    if how == "whole":
        return suffix, packed, data
    return suffix, packed[: draw(st.integers(0, len(packed) - 1))], None


def write(directory: Path, name: str, data: bytes) -> Path:
    """``data`` as ``directory/name`` (replacing the previous example's file)."""
    path = directory / name
    path.write_bytes(data)
    return path


def check_refusal(exc: SeqlabError, *names: str | os.PathLike) -> None:
    """What every refusal must say: one non-empty line, naming one of ``names`` (when given). The tests
    catch only SeqlabError, so any other exception fails them with its traceback."""
    message = str(exc)
    assert message.strip() and "\n" not in message and "\r" not in message, repr(message)
    if names:
        assert any(str(name) in message for name in names), (message, names)
