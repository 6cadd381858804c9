"""Streaming a corpus: one sentence a line, or one huge text8-style line, plain or compressed.

The file is read in blocks of characters, so a 100 MB single-line corpus never becomes one Python
string; a sentence longer than ``max_sentence_length`` tokens is cut into pieces (gensim cuts at
10,000 words, word2vec.c at 1,000). Tokens are whitespace-separated; ``lowercase`` is optional.

Hostile input: a NUL byte means a binary file (or ``/dev/zero``) and is refused with its line; a
token longer than ``MAX_TOKEN_CHARS`` characters is cut to its first ``MAX_TOKEN_CHARS`` (as
word2vec.c cuts words at 100 bytes) and the cuts are counted in one warning per pass, so neither a
file without whitespace nor a stray blob can make the scan quadratic or its memory unbounded. A
pipe, FIFO or character device (``cat corpus | seqlab embed train /dev/stdin``) can be read only
once: a :class:`Corpus` on one copies the stream into an unnamed temporary file during its first
pass and reads that copy afterwards.
"""

from __future__ import annotations

import codecs
import io
import lzma
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from seqlab.errors import DataError
from seqlab.io import check_readable, open_binary, open_text
from seqlab.log import warn

BLOCK_CHARS = 1 << 20
MAX_TOKEN_CHARS = 1000  # longer "words" are cut to this many characters (word2vec.c: 100 bytes)


@dataclass(frozen=True)
class Corpus:
    """A re-iterable stream of sentences (lists of tokens) read from ``path``.

    Iterating twice reads the file twice; nothing but the current block is held in memory. When
    ``path`` is a pipe, FIFO or character device, the first pass also copies it into an unnamed
    temporary file (in ``tempfile.gettempdir()``, TMPDIR) that later passes read; :meth:`close`
    (or leaving a ``with`` block) frees it, and the operating system removes it when the process
    ends in any way. Over-long tokens are reported once, by the first complete pass.
    """

    path: str
    lowercase: bool = False
    max_sentence_length: int = 10_000
    tokenize: str = "whitespace"  # or "simple": punctuation split off words (see SPLITTERS)
    _state: _PassState = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_readable(self.path)
        if self.max_sentence_length < 1:
            raise DataError(f"max_sentence_length must be positive, got {self.max_sentence_length}")
        splitter(self.tokenize)
        object.__setattr__(self, "_state", _PassState(Path(self.path)))

    def __iter__(self) -> Iterator[list[str]]:
        state = self._state
        with state.open() as text:
            yield from _sentences(text, state.name, self.lowercase, self.max_sentence_length,
                                  state.bad_utf8_line, state.report_long, splitter(self.tokenize))
        state.finished()

    def blocks(self) -> Iterator[str]:
        """The corpus as text: blocks that end at whitespace (a token is never split between two),
        lowercased with ``lowercase``, for a reader that cuts the tokens itself (the C reader of
        :mod:`seqlab.text.scan_native`); it reports cut tokens with :meth:`report_long` and an empty
        corpus itself. Bad input raises DataError as iterating does."""
        state = self._state
        with state.open() as text:
            yield from _blocks(text, state.name, self.lowercase, state.bad_utf8_line)
        state.finished()

    def report_long(self, count: int, first_line: int) -> None:
        """Warn (once) that ``count`` tokens were cut to ``MAX_TOKEN_CHARS``, the first on ``first_line``."""
        self._state.report_long(self._state.name, count, first_line)

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the temporary copy of a piped corpus (nothing to do for a file)."""
        self._state.close()


def is_stream(path: str | os.PathLike) -> bool:
    """True when ``path`` is a pipe, FIFO, socket or character device: readable only once."""
    mode = os.stat(path).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def corpus_name(path: str | os.PathLike) -> str:
    """How a checkpoint records its corpus: the resolved path of a file; a stream's path as given
    (``/dev/stdin`` resolves to a new ``pipe:[...]`` in every process)."""
    return str(path) if is_stream(path) else str(Path(path).resolve())


def iter_sentences(path: str | os.PathLike, lowercase: bool = False, max_sentence_length: int = 10_000,
                   tokenize: str = "whitespace") -> Iterator[list[str]]:
    """Yield each sentence of ``path`` as a list of tokens (empty lines yield nothing).

    Raises DataError naming the file for a missing/unreadable file, bad UTF-8 or a NUL byte (with
    the line number) or a file with no tokens at all. Tokens longer than ``MAX_TOKEN_CHARS`` are
    cut, with one warning on stderr at the end. A stream is copied as it is read (see
    :class:`Corpus`), so that the line of bad UTF-8 can be found.
    """
    state = _PassState(check_readable(path))
    try:
        with state.open() as text:
            yield from _sentences(text, state.name, lowercase, max_sentence_length, state.bad_utf8_line,
                                  state.report_long, splitter(tokenize))
    finally:
        state.close()


def _simple_split(segment: str) -> list[str]:
    """Words with their inner apostrophes (``don't``, ``o'brien``), and each other punctuation mark alone."""
    return SIMPLE_TOKEN.findall(segment)


SIMPLE_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*|[^\w\s]|_+")
SPLITTERS: dict[str, Callable[[str], list[str]]] = {"whitespace": str.split, "simple": _simple_split}


def tokenize_setting() -> Any:
    """The ``tokenize`` field of the configs that read a corpus (word2vec, GloVe): one of SPLITTERS."""
    from seqlab.config import setting

    return setting("whitespace", "How CORPUS is cut into words: whitespace (word2vec.c's; text8-style or "
                                 "pre-tokenised files) or simple (punctuation split off, for raw text).",
                   flag=True, choices=tuple(SPLITTERS))


def splitter(name: str) -> Callable[[str], list[str]]:
    """How a line is cut into tokens: ``whitespace`` (word2vec.c's, for text8-style and pre-tokenised
    files) or ``simple`` (punctuation split off words, for raw text)."""
    if name not in SPLITTERS:
        raise DataError(f"tokenize must be {' or '.join(SPLITTERS)}, got {name!r}")
    return SPLITTERS[name]


def _blocks(text: IO[str], name: Path, lowercase: bool, bad_utf8_line: Callable[[], int]) -> Iterator[str]:
    """The text of ``text`` in blocks of about ``BLOCK_CHARS`` characters, each ending at whitespace
    except the last (a token is never split between two blocks), lowercased with ``lowercase``.

    Linear in the input: the only thing carried to the next block is the unfinished last token, cut
    at ``MAX_TOKEN_CHARS + 1`` characters. Raises DataError naming ``name`` (and the line) for a NUL
    byte, bad UTF-8 or an unreadable (corrupt compressed) file.
    """
    line_no = 1
    carry = ""  # an unfinished token at the end of the previous block (no newline in it)
    try:
        while block := text.read(BLOCK_CHARS):
            if "\x00" in block:
                line = line_no + block.count("\n", 0, block.index("\x00"))
                raise DataError(f"{name}: line {line} contains a NUL byte; is this a text file?")
            block, carry = _cut_unfinished(carry + block)
            if lowercase:  # whole tokens only: a capital sigma's lower case depends on what follows it
                block = block.lower()
            line_no += block.count("\n")
            yield block
        if carry:
            yield carry.lower() if lowercase else carry
    except UnicodeDecodeError as exc:
        # the text layer decodes ahead of the lines we have seen, so find the line from the bytes
        raise DataError(f"{name}: line {bad_utf8_line()}: not valid UTF-8 ({exc.reason})") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:  # a corrupt compressed stream
        raise DataError(f"{name}: cannot read ({exc})") from None


def _sentences(text: IO[str], name: Path, lowercase: bool, max_sentence_length: int,
               bad_utf8_line: Callable[[], int], report_long: Callable[[Path, int, int], None],
               split: Callable[[str], list[str]] = str.split) -> Iterator[list[str]]:
    """The sentences of ``text`` (see :func:`iter_sentences`); ``name`` is the file in messages."""
    line_no = 1
    any_token = False
    current: list[str] = []
    long_tokens, first_long = 0, 0
    for block in _blocks(text, name, lowercase, bad_utf8_line):
        segments = block.split("\n")
        for i, segment in enumerate(segments):
            tokens = split(segment)
            if tokens:
                any_token = True
                cut = _cut_long(tokens) if len(segment) > MAX_TOKEN_CHARS else 0
                if cut:
                    long_tokens, first_long = long_tokens + cut, first_long or line_no
                current.extend(tokens)
                current = yield from _full_pieces(current, max_sentence_length)
            if i < len(segments) - 1:  # a newline ends the sentence
                line_no += 1
                if current:
                    yield current
                    current = []
    current = yield from _full_pieces(current, max_sentence_length)
    if current:
        yield current
    if not any_token:
        raise DataError(f"{name}: the corpus is empty (no tokens)")
    if long_tokens:
        report_long(name, long_tokens, first_long)


def _cut_unfinished(block: str) -> tuple[str, str]:
    """(``block`` up to its last whitespace, the unfinished token after it), the token cut to
    ``MAX_TOKEN_CHARS + 1`` characters: enough to know it is too long, and a bounded carry."""
    if block[-1].isspace():
        return block, ""
    tail = block.rsplit(None, 1)[-1]  # scans from the right: linear in the tail
    return block[: len(block) - len(tail)], tail[: MAX_TOKEN_CHARS + 1]


def _cut_long(tokens: list[str]) -> int:
    """Cut the tokens longer than ``MAX_TOKEN_CHARS`` in place; returns how many there were."""
    if max(map(len, tokens)) <= MAX_TOKEN_CHARS:
        return 0
    cut = 0
    for i, token in enumerate(tokens):
        if len(token) > MAX_TOKEN_CHARS:
            tokens[i], cut = token[:MAX_TOKEN_CHARS], cut + 1
    return cut


def _full_pieces(current: list[str], size: int):
    """Yield the full ``size``-token pieces of ``current``; return the rest (shorter than ``size``)."""
    full = len(current) - len(current) % size
    for start in range(0, full, size):
        yield current[start:start + size]
    return current[full:] if full else current


def _warn_long(name: Path, count: int, first_line: int) -> None:
    warn(f"seqlab: warning: {name}: {count:,} token{'s' if count > 1 else ''} longer than {MAX_TOKEN_CHARS:,} "
         f"characters cut to their first {MAX_TOKEN_CHARS:,} (the first on line {first_line}); is this a text "
         "file with words separated by whitespace?", __name__)


def _bad_utf8_line(path: Path, raw: IO[bytes] | None = None) -> int:
    """The 1-based line of the first byte that is not valid UTF-8 in ``path`` (decompressed), or in
    the open binary file ``raw`` (read from its start)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with raw if raw is not None else open_binary(path) as fh:
        while True:
            try:
                chunk = fh.read(1 << 20)
            except (OSError, EOFError, lzma.LZMAError):  # a truncated stream: the bad byte is where it ends
                return line
            if not chunk:
                return line
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                return line + chunk[: max(exc.start - pending, 0)].count(b"\n")
            line += chunk.count(b"\n")


# ------------------------------------------------------------------------- passes and streams
class _PassState:
    """What the passes of one :class:`Corpus` share: the copy of a stream, and whether the
    over-long tokens were reported already."""

    def __init__(self, path: Path) -> None:
        self.name = path
        self.stream = is_stream(path)
        self.copy: IO[bytes] | None = None  # the unnamed temporary file holding a stream
        self.copied = False  # True once a pass has read the stream to its end
        self.reported = False

    def open(self) -> IO[str]:
        """A text reader for the next pass: the file itself; for a stream, the stream (copied as it
        is read) on the first pass, the copy afterwards."""
        if not self.stream:
            return open_text(self.name)
        if self.copied:
            return _text(_Reread(self.copy))
        if self.copy is not None:  # a first pass stopped early: the stream is partly consumed
            raise DataError(f"{self.name}: a pipe can be read only once, and an earlier pass over it stopped "
                            "before its end; save the corpus to a file")
        try:
            self.copy = tempfile.TemporaryFile(prefix="seqlab-corpus-")
        except OSError as exc:
            raise _copy_error(self.name, exc) from None
        return _text(_Tee(open_binary(self.name), self.copy, self.name))

    def finished(self) -> None:
        """A pass read the whole corpus: the copy (if any) is complete; warnings are said once."""
        self.copied = self.copy is not None

    def bad_utf8_line(self) -> int:
        if not self.stream:
            return _bad_utf8_line(self.name)
        self.copy.flush()
        return _bad_utf8_line(self.name, io.BufferedReader(_Reread(self.copy)))

    def report_long(self, name: Path, count: int, first_line: int) -> None:
        if not self.reported:
            self.reported = True
            _warn_long(name, count, first_line)

    def close(self) -> None:
        if self.copy is not None:
            self.copy.close()
        self.copy, self.copied = None, False


def _text(raw: io.RawIOBase) -> IO[str]:
    return io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding="utf-8", errors="strict", newline=None)


def _copy_error(name: Path, exc: OSError) -> DataError:
    return DataError(f"{name}: cannot copy the piped corpus to a temporary file in {tempfile.gettempdir()} "
                     f"({exc.strerror or exc}); save the corpus to a file, or set TMPDIR to a roomier place")


class _Tee(io.RawIOBase):
    """Reads ``source`` and appends every byte read to ``copy``."""

    def __init__(self, source: IO[bytes], copy: IO[bytes], name: Path) -> None:
        self.source, self.copy, self.name = source, copy, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.source.readinto(buffer)
        try:
            self.copy.write(memoryview(buffer)[:n])
        except OSError as exc:  # a full disk
            raise _copy_error(self.name, exc) from None
        return n

    def close(self) -> None:
        self.source.close()
        super().close()


class _Reread(io.RawIOBase):
    """An independent reader of the temporary copy from its start (positional reads, so two passes
    never share a file offset); closing it leaves the copy open."""

    def __init__(self, copy: IO[bytes]) -> None:
        copy.flush()
        self.fd, self.offset = copy.fileno(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = os.pread(self.fd, len(buffer), self.offset)
        buffer[: len(data)] = data
        self.offset += len(data)
        return len(data)
