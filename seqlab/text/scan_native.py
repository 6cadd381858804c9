"""A corpus read in one pass by the C kernel ``vocab_cpu.c``: its distinct words with their counts, and
every token as the number of its word (in order of first appearance), with the sentence ends.

Python still reads the file (so the checks of :class:`~seqlab.text.corpus.Corpus` hold: NUL bytes,
bad UTF-8 with its line, compressed files, pipes) and prepares each block of text with whole-block
string operations: lowercasing, non-ASCII whitespace to spaces, and for ``tokenize = "simple"`` a
space on each side of every token the regular expression finds. The kernel cuts the tokens, looks
them up in its hash table and writes their numbers: no Python runs per token. The result is the one
:meth:`Vocab.build <seqlab.text.vocab.Vocab.build>` and :meth:`EncodedCorpus.encode
<seqlab.text.vocab.EncodedCorpus.encode>` give over the corpus's sentences, in one pass instead of two.
"""

from __future__ import annotations

import ctypes
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seqlab.errors import DataError
from seqlab.native import available, load
from seqlab.text.corpus import MAX_TOKEN_CHARS, SIMPLE_TOKEN, Corpus
from seqlab.text.vocab import SpillArray

SOURCE = "text/vocab_cpu.c"
SYMBOLS = ("vocab_new", "vocab_free", "vocab_scan", "vocab_words", "vocab_pool_bytes", "vocab_export")
# the characters other than ASCII that str.split() splits on (the kernel knows the ASCII ones)
_WIDE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")

_i64, _p = ctypes.c_int64, ctypes.c_void_p


@dataclass
class Scan:
    """What one pass found: ``words`` (W,) distinct tokens by first appearance, ``counts`` (W,) int64,
    ``ids`` (N,) int32 the word number of every token (memory-mapped), ``ends`` (S,) int64 the tokens
    read when each sentence ended (memory-mapped; the last is N)."""

    words: list[str]
    counts: np.ndarray
    ids: np.ndarray
    ends: np.ndarray


def _library() -> ctypes.CDLL:
    lib = load(SOURCE, SYMBOLS)
    if not getattr(lib, "_seqlab_typed", False):
        lib.vocab_new.restype = _p
        lib.vocab_new.argtypes = []
        lib.vocab_free.restype = None
        lib.vocab_free.argtypes = [_p]
        lib.vocab_scan.restype = _i64
        lib.vocab_scan.argtypes = [_p, ctypes.c_char_p, _i64, _i64, _i64, _p, _p, _p]
        lib.vocab_words.restype = _i64
        lib.vocab_words.argtypes = [_p]
        lib.vocab_pool_bytes.restype = _i64
        lib.vocab_pool_bytes.argtypes = [_p]
        lib.vocab_export.restype = None
        lib.vocab_export.argtypes = [_p, _p, _p]
        lib._seqlab_typed = True
    return lib


def native_available() -> tuple[bool, str]:
    """(True, '') when the kernel builds and loads here, else (False, reason)."""
    return available(SOURCE, SYMBOLS)


def _preparer(tokenize: str) -> Callable[[str], bytes]:
    """A block of text as the kernel's UTF-8 input: tokens separated by ASCII whitespace."""
    simple = tokenize == "simple"

    def prepare(block: str) -> bytes:
        if not block.isascii():
            block = _WIDE_SPACE.sub(" ", block)
        if simple:  # every character but whitespace is in some token, so this splits as findall does
            block = SIMPLE_TOKEN.sub(r" \g<0> ", block)
        return block.encode("utf-8")

    return prepare


def scan(corpus: Corpus, progress: Callable[[int], object] | None = None) -> Scan:
    """Read ``corpus`` once (see the module); ``progress(tokens)`` is called after each block. Raises
    NativeUnavailable when the kernel cannot be built, DataError for bad input or an empty corpus."""
    lib = _library()
    handle = lib.vocab_new()
    if not handle:
        raise MemoryError("cannot allocate the vocabulary table")
    prepare = _preparer(corpus.tokenize)
    state = np.zeros(5, dtype=np.int64)  # see vocab_scan in vocab_cpu.c
    line_no, first_cut = 1, 0
    where = tempfile.gettempdir()
    try:
        with SpillArray(np.int32, where) as ids, SpillArray(np.int64, where) as ends:
            for block in corpus.blocks():
                data = prepare(block)
                room = len(data) // 2 + 1
                id_buf, end_buf = np.empty(room, dtype=np.int32), np.empty(room, dtype=np.int64)
                n = lib.vocab_scan(handle, data, len(data), corpus.max_sentence_length, MAX_TOKEN_CHARS,
                                   id_buf.ctypes.data, end_buf.ctypes.data, state.ctypes.data)
                if n < 0:
                    raise MemoryError(f"{corpus.path}: out of memory for the vocabulary")
                ids.append(id_buf[:n])
                ends.append(end_buf[: state[4]])
                if state[3] >= 0 and not first_cut:
                    first_cut = line_no + int(state[3])
                line_no += data.count(b"\n")
                if progress is not None:
                    progress(int(n))
            total = int(state[0])
            if total == 0:
                raise DataError(f"{corpus.path}: the corpus is empty (no tokens)")
            if state[1]:  # the last sentence has no newline after it
                ends.append(np.array([total], dtype=np.int64))
            if state[2]:
                corpus.report_long(int(state[2]), first_cut)
            n_words = lib.vocab_words(handle)
            pool = ctypes.create_string_buffer(lib.vocab_pool_bytes(handle))
            counts = np.empty(n_words, dtype=np.int64)
            lib.vocab_export(handle, pool, counts.ctypes.data)
            words = pool.raw.decode("utf-8").split("\n")[:-1]
            return Scan(words, counts, ids.array(), ends.array())
    finally:
        lib.vocab_free(handle)
