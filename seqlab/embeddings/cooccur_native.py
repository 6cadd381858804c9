"""The CPU kernel of co-occurrence counting (``cooccur_cpu.c``): cooccur.c's counts in a hash table.

The pairs of a chunk of positions are added to an open-addressing table of (key, sum) slots held in
numpy arrays; when the table is 70% full it is emptied into a sorted run, and the runs are merged at
the end (equal keys summed), as cooccur.c merges its overflow files. Same results as the torch path
of :mod:`seqlab.embeddings.cooccurrence` (sums to the last bits of float64 addition order).
"""

from __future__ import annotations

import ctypes

import numpy as np

from seqlab.native import available, load
from seqlab.text.vocab import EncodedCorpus

SOURCE = "embeddings/cooccur_cpu.c"
SYMBOLS = ("cooc_count", "cooc_extract")
CHUNK = 1 << 22  # positions per call (their ids and line numbers are copied, 12 bytes each)
MAX_CAPACITY = 1 << 24  # slots: 16 bytes each, 256 MiB (and as much for a run); bigger matrices make several runs

_i64, _i64p = ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)


def _library() -> ctypes.CDLL:
    lib = load(SOURCE, SYMBOLS)
    if not getattr(lib, "_seqlab_typed", False):
        lib.cooc_count.restype = _i64
        lib.cooc_count.argtypes = [ctypes.POINTER(ctypes.c_int32), _i64p, _i64, _i64, _i64, _i64, ctypes.c_int, _i64,
                                   _i64p, ctypes.POINTER(ctypes.c_double), _i64, _i64p, _i64]
        lib.cooc_extract.restype = _i64
        lib.cooc_extract.argtypes = [_i64p, ctypes.POINTER(ctypes.c_double), _i64, _i64, ctypes.c_void_p, _i64p]
        lib._seqlab_typed = True
    return lib


def native_available() -> tuple[bool, str]:
    """(True, '') when the C kernel builds and loads here, else (False, reason)."""
    return available(SOURCE, SYMBOLS)


def _ptr(array: np.ndarray, ctype):
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def capacity_for(vocab_size: int, limit: int = MAX_CAPACITY) -> int:
    """Slots of the table: a power of two, room for every pair of a small vocabulary at 70% fill."""
    pairs = vocab_size * (vocab_size + 1) // 2
    return int(min(limit, 1 << max(10, int(np.ceil(np.log2(pairs / 0.7 + 1))))))


def count_pairs_native(data: EncodedCorpus, vocab_size: int, window: int, distance_weighting: bool = True,
                       capacity: int | None = None, progress=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The sorted runs (keys, sums) of the pairs of ``data`` (see count_pairs); ``progress(positions)`` is
    called after each chunk. Raises NativeUnavailable when the kernel cannot be built."""
    lib = _library()
    capacity = capacity or capacity_for(vocab_size)
    if capacity & (capacity - 1):
        raise ValueError(f"capacity must be a power of two, got {capacity}")
    keys = np.full(capacity, -1, dtype=np.int64)
    sums = np.zeros(capacity, dtype=np.float64)
    filled = ctypes.c_int64(0)
    max_fill = int(0.7 * capacity) - window  # a position adds at most `window` keys after the check
    if max_fill < 1:
        raise ValueError(f"capacity {capacity} is too small for window {window}")
    run_keys: list[np.ndarray] = []
    run_sums: list[np.ndarray] = []

    rows = np.zeros(vocab_size + 1, dtype=np.int64)

    def flush() -> None:
        out = np.empty(filled.value, dtype=[("key", np.int64), ("sum", np.float64)])
        got = lib.cooc_extract(_ptr(keys, ctypes.c_int64), _ptr(sums, ctypes.c_double), capacity, vocab_size,
                               out.ctypes.data, _ptr(rows, ctypes.c_int64))
        assert got == filled.value
        run_keys.append(np.ascontiguousarray(out["key"]))
        run_sums.append(np.ascontiguousarray(out["sum"]))
        filled.value = 0

    n = len(data.ids)
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        end = min(hi + window, n)  # the windows of the chunk's last positions reach past it
        ids = np.ascontiguousarray(data.ids[lo:end], dtype=np.int32)
        line = np.ascontiguousarray(data.sentence_of(np.arange(lo, end)), dtype=np.int64)
        at = 0
        while at < hi - lo:
            at = lib.cooc_count(_ptr(ids, ctypes.c_int32), _ptr(line, ctypes.c_int64), at, hi - lo, end - lo,
                                window, int(distance_weighting), vocab_size, _ptr(keys, ctypes.c_int64),
                                _ptr(sums, ctypes.c_double), capacity, ctypes.byref(filled), max_fill)
            if at < hi - lo:
                flush()
        if progress is not None:
            progress(hi - lo)
    if filled.value or not run_keys:
        flush()
    return run_keys, run_sums
