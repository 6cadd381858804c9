"""Streaming a corpus: one sentence a line, or one huge text8-style line, plain or compressed.

The file is read in blocks of characters, so a 100 MB single-line corpus never becomes one Python
string; a sentence longer than ``max_sentence_length`` tokens is cut into pieces (gensim cuts at
10,000 words, word2vec.c at 1,000). Tokens are whitespace-separated; ``lowercase`` is optional.
"""

from __future__ import annotations

import codecs
import lzma
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import DataError
from seqlab.io import check_readable, open_binary, open_text

BLOCK_CHARS = 1 << 20


@dataclass(frozen=True)
class Corpus:
    """A re-iterable stream of sentences (lists of tokens) read from ``path``.

    Iterating twice reads the file twice; nothing but the current block is held in memory.
    """

    path: str
    lowercase: bool = False
    max_sentence_length: int = 10_000

    def __post_init__(self) -> None:
        check_readable(self.path)
        if self.max_sentence_length < 1:
            raise DataError(f"max_sentence_length must be positive, got {self.max_sentence_length}")

    def __iter__(self) -> Iterator[list[str]]:
        yield from iter_sentences(self.path, self.lowercase, self.max_sentence_length)


def iter_sentences(path: str | os.PathLike, lowercase: bool = False,
                   max_sentence_length: int = 10_000) -> Iterator[list[str]]:
    """Yield each sentence of ``path`` as a list of tokens (empty lines yield nothing).

    Raises DataError naming the file for a missing/unreadable file, bad UTF-8 (with the line
    number) or a file with no tokens at all.
    """
    p = Path(path)
    line_no = 1
    any_token = False
    current: list[str] = []
    carry = ""  # an unfinished token at the end of the previous block
    try:
        with open_text(p) as fh:
            while True:
                block = fh.read(BLOCK_CHARS)
                if not block:
                    break
                if lowercase:
                    block = block.lower()
                block = carry + block
                # keep a possibly cut token for the next block
                cut = len(block)
                while cut > 0 and not block[cut - 1].isspace():
                    cut -= 1
                carry, block = block[cut:], block[:cut]
                segments = block.split("\n")
                for i, segment in enumerate(segments):
                    tokens = segment.split()
                    if tokens:
                        any_token = True
                        current.extend(tokens)
                        while len(current) >= max_sentence_length:
                            yield current[:max_sentence_length]
                            current = current[max_sentence_length:]
                    if i < len(segments) - 1:  # a newline ends the sentence
                        line_no += 1
                        if current:
                            yield current
                            current = []
            if carry:
                any_token = True
                current.append(carry)
            while current:
                yield current[:max_sentence_length]
                current = current[max_sentence_length:]
    except UnicodeDecodeError as exc:
        # the text layer decodes ahead of the lines we have seen, so find the line from the bytes
        raise DataError(f"{p}: line {_bad_utf8_line(p)}: not valid UTF-8 ({exc.reason})") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:  # a corrupt compressed stream
        raise DataError(f"{p}: cannot read ({exc})") from None
    if not any_token:
        raise DataError(f"{p}: the corpus is empty (no tokens)")


def _bad_utf8_line(path: Path) -> int:
    """The 1-based line of the first byte that is not valid UTF-8 in ``path`` (decompressed)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open_binary(path) as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pending = len(decoder.getstate()[0])
                return line + chunk[: max(exc.start - pending, 0)].count(b"\n")
            line += chunk.count(b"\n")
    return line
