"""The CPU kernel of co-occurrence counting (``cooccur_cpu.c``): cooccur.c's counts in a hash table.

The pairs of a chunk of positions are added to an open-addressing table of (key, sum) slots held in
numpy arrays. The table starts small and doubles when 70% full, up to the size that the memory limit
allows (``memory`` GB, cooccur.c's ``-memory``: 16 bytes a slot, and 70% of that again for the run it
is emptied into; never more than every possible pair needs). Full at that size, it is emptied into a
sorted run, written to an unnamed temporary file in TMPDIR, and counting goes on; at the end the runs
are merged in C (a binary heap over the memory-mapped runs, equal keys summed in run order), as
cooccur.c merges its overflow files. A corpus whose pairs fit in the table makes one run and touches
no file. The same results as the torch path of :mod:`seqlab.embeddings.cooccurrence` (sums to the last
bits of float64 addition order: runs and torch's chunks group the additions differently).
"""

from __future__ import annotations

import ctypes
import math
import tempfile
from collections.abc import Callable, Sequence
from typing import IO

import numpy as np

from seqlab.errors import DataError
from seqlab.native import available, load
from seqlab.text.vocab import EncodedCorpus

SOURCE = "embeddings/cooccur_cpu.c"
SYMBOLS = ("cooc_count", "cooc_extract", "cooc_grow", "cooc_merge")
RUN = np.dtype([("key", np.int64), ("sum", np.float64)])  # a record of a run (pair_t in the C kernel)
CHUNK = 1 << 22  # most positions per call (their ids and line numbers are copied, 12 bytes each)
POSITION_BYTES = 32  # a position of a chunk: its id and line number, and the temporaries that make them
FILL = 0.7  # the table is grown, or emptied into a run, when this full
SLOT_BYTES = 16 * (1 + FILL)  # a slot of the table, and its share of the run it is emptied into
FIRST_CAPACITY = 1 << 16  # slots of a new table (1 MiB); it doubles as it fills, up to what the memory limit allows
MERGE_ITEMS = 1 << 20  # keys the merge hands back per call (16 MiB); more go to a temporary file
GB = 1 << 30  # cooccur.c's gigabyte

_i64, _i64p = ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)
_f64p = ctypes.POINTER(ctypes.c_double)


def _library() -> ctypes.CDLL:
    lib = load(SOURCE, SYMBOLS)
    if not getattr(lib, "_seqlab_typed", False):
        lib.cooc_count.restype = _i64
        lib.cooc_count.argtypes = [ctypes.POINTER(ctypes.c_int32), _i64p, _i64, _i64, _i64, _i64, ctypes.c_int, _i64,
                                   _i64p, _f64p, _i64, _i64p, _i64]
        lib.cooc_extract.restype = _i64
        lib.cooc_extract.argtypes = [_i64p, _f64p, _i64, _i64, ctypes.c_void_p, _i64p]
        lib.cooc_grow.restype = None
        lib.cooc_grow.argtypes = [_i64p, _f64p, _i64, _i64p, _f64p, _i64]
        lib.cooc_merge.restype = _i64
        lib.cooc_merge.argtypes = [ctypes.c_void_p, _i64p, _i64, _i64p, _i64p, _i64p, _i64p, _f64p, _i64]
        lib._seqlab_typed = True
    return lib


def native_available() -> tuple[bool, str]:
    """(True, '') when the C kernel builds and loads here, else (False, reason)."""
    return available(SOURCE, SYMBOLS)


def _ptr(array: np.ndarray, ctype):
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def _power_of_two_at_least(x: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(x, 1.0))))


def plan(memory: float, vocab_size: int, positions: int, window: int) -> tuple[int, int]:
    """(most slots of the table, positions per chunk) for counting ``positions`` positions of a
    ``vocab_size``-word corpus within ``memory`` GB: a chunk takes at most an eighth of it, the table
    (a power of two) and its run the rest, but never more slots than every possible pair needs
    (V (V + 1) / 2 of them, and at most ``window`` per position), nor fewer than a few windows' worth."""
    budget = memory * GB
    chunk = int(min(CHUNK, max(1 << 12, budget / 8 / POSITION_BYTES)))
    fits = (budget - chunk * POSITION_BYTES) / SLOT_BYTES
    most = 1 << max(0, math.floor(math.log2(fits))) if fits >= 1 else 1
    pairs = min(vocab_size * (vocab_size + 1) // 2, positions * window)
    needed = _power_of_two_at_least((pairs + window + 1) / FILL)  # then the table never fills
    smallest = _power_of_two_at_least(max(1024, (2 * window + 1) / FILL))
    return max(smallest, min(most, needed)), chunk


class _Table:
    """The open-addressing table of the C kernel: ``size`` (key, sum) slots, ``filled`` of them in use."""

    def __init__(self, lib: ctypes.CDLL, size: int, vocab_size: int) -> None:
        self.lib, self.size, self.vocab_size = lib, size, vocab_size
        self.keys = np.full(size, -1, dtype=np.int64)
        self.sums = np.zeros(size, dtype=np.float64)
        self.filled = ctypes.c_int64(0)
        self.rows = np.zeros(vocab_size + 1, dtype=np.int64)  # scratch of cooc_extract

    def count(self, ids: np.ndarray, line: np.ndarray, at: int, stop: int, window: int, distance_weighting: bool
              ) -> int:
        """Counts positions [at, stop) of ids/line until the table is 70% full; returns the position reached."""
        max_fill = int(FILL * self.size) - window  # a position adds at most `window` keys after the check
        return self.lib.cooc_count(_ptr(ids, ctypes.c_int32), _ptr(line, ctypes.c_int64), at, stop, len(ids),
                                   window, int(distance_weighting), self.vocab_size, _ptr(self.keys, ctypes.c_int64),
                                   _ptr(self.sums, ctypes.c_double), self.size, ctypes.byref(self.filled), max_fill)

    def grow(self) -> None:
        """A table twice the size, the keys moved over."""
        keys = np.full(2 * self.size, -1, dtype=np.int64)
        sums = np.zeros(2 * self.size, dtype=np.float64)
        self.lib.cooc_grow(_ptr(self.keys, ctypes.c_int64), _ptr(self.sums, ctypes.c_double), self.size,
                           _ptr(keys, ctypes.c_int64), _ptr(sums, ctypes.c_double), 2 * self.size)
        self.keys, self.sums, self.size = keys, sums, 2 * self.size

    def extract(self) -> np.ndarray:
        """The keys and sums as a sorted run (RUN records); the table is left empty."""
        out = np.empty(self.filled.value, dtype=RUN)
        got = self.lib.cooc_extract(_ptr(self.keys, ctypes.c_int64), _ptr(self.sums, ctypes.c_double), self.size,
                                    self.vocab_size, out.ctypes.data, _ptr(self.rows, ctypes.c_int64))
        assert got == self.filled.value
        self.filled.value = 0
        return out


def count_pairs_native(data: EncodedCorpus, vocab_size: int, window: int, distance_weighting: bool = True,
                       memory: float = 4.0, capacity: int | None = None,
                       progress: Callable[[int], object] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of ``data`` (see count_pairs): ``keys`` (K,) int64, sorted and unique, and their ``sums``
    (K,) float64, counted within about ``memory`` GB (see :func:`plan`; ``capacity``, a power of two,
    overrides the most slots of the table). ``progress(positions)`` is called after each chunk. Raises
    NativeUnavailable when the kernel cannot be built, DataError when a temporary file cannot be written."""
    lib = _library()
    n = len(data.ids)
    most, chunk = plan(memory, vocab_size, n, window)
    most = capacity or most
    if most & (most - 1):
        raise ValueError(f"capacity must be a power of two, got {most}")
    if int(FILL * most) - window < 1:
        raise ValueError(f"capacity {most} is too small for window {window}")
    table = _Table(lib, min(most, max(FIRST_CAPACITY, _power_of_two_at_least((2 * window + 1) / FILL))),
                   vocab_size)
    spill: _Runs | None = None
    try:
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            end = min(hi + window, n)  # the windows of the chunk's last positions reach past it
            ids = np.ascontiguousarray(data.ids[lo:end], dtype=np.int32)
            line = np.ascontiguousarray(data.sentence_of(np.arange(lo, end)), dtype=np.int64)
            at = table.count(ids, line, 0, hi - lo, window, distance_weighting)
            while at < hi - lo:  # the table is full
                if table.size < most:
                    table.grow()
                else:  # at the limit: a run, and more will follow
                    if spill is None:
                        spill = _Runs()
                    spill.write(table.extract())
                at = table.count(ids, line, at, hi - lo, window, distance_weighting)
            if progress is not None:
                progress(hi - lo)
        last = table.extract() if table.filled.value or spill is None else None
        del table  # its memory is the merge's
        if spill is None:  # one run: the whole matrix, no file
            return np.ascontiguousarray(last["key"]), np.ascontiguousarray(last["sum"])
        return spill.merge(last)
    finally:
        if spill is not None:
            spill.close()


def _disk_error(directory: str, exc: OSError) -> DataError:
    return DataError(f"cannot write the co-occurrence counts to a temporary file in {directory} "
                     f"({exc.strerror or exc}); free some space there or set TMPDIR to a roomier place "
                     "(a bigger memory setting, --memory, spills less)")


def _temporary_file(directory: str) -> IO[bytes]:
    try:
        return tempfile.TemporaryFile(prefix="seqlab-cooc-", dir=directory)
    except OSError as exc:
        raise _disk_error(directory, exc) from None


class _Runs:
    """Sorted runs written one after the other to an unnamed temporary file in TMPDIR (gone once closed)."""

    def __init__(self) -> None:
        self.directory = tempfile.gettempdir()
        self.lengths: list[int] = []
        self.file = _temporary_file(self.directory)

    def write(self, run: np.ndarray) -> None:
        try:
            self.file.write(run.view(np.uint8))
        except OSError as exc:  # a full disk
            raise _disk_error(self.directory, exc) from None
        self.lengths.append(len(run))

    def merge(self, last: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The runs written and then ``last`` (in memory; None or empty: none), merged."""
        total = sum(self.lengths)
        try:
            self.file.flush()
            mapped = np.memmap(self.file, dtype=RUN, mode="r", shape=(total,)) if total else np.zeros(0, RUN)
        except OSError as exc:
            raise _disk_error(self.directory, exc) from None
        bounds = np.cumsum([0, *self.lengths])
        runs = [mapped[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        if last is not None and len(last):
            runs.append(last)
        return merge_runs(runs, directory=self.directory)

    def close(self) -> None:
        self.file.close()


def merge_runs(runs: Sequence[np.ndarray], room: int | None = None,
               directory: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The sorted unique keys of ``runs`` (each a contiguous RUN array, keys strictly increasing, in
    memory or memory-mapped) and their sums, equal keys summed in run order: bit for bit what
    index_add_ over the runs one after the other gives. The merge hands back ``room`` (default
    MERGE_ITEMS) keys at a time; when there are more, they go to temporary files in ``directory``
    (default TMPDIR) and are read back into the (K,) arrays returned, so the merge needs the matrix and
    ``room`` keys of memory, besides the runs."""
    lib = _library()
    for run in runs:
        if run.dtype != RUN or not run.flags.c_contiguous:
            raise ValueError(f"a run must be a contiguous array of {RUN}, got {run.dtype}")
    count = len(runs)
    lengths = np.array([len(run) for run in runs], dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    pointers = np.array([run.ctypes.data for run in runs], dtype=np.uintp)
    pos = np.zeros(count, dtype=np.int64)
    heap = np.zeros(count, dtype=np.int64)
    size = ctypes.c_int64(-1)
    room = max(1, min(room or MERGE_ITEMS, total))
    out_keys, out_sums = np.empty(room, np.int64), np.empty(room, np.float64)
    spilled: _Merged | None = None
    try:
        while True:
            got = lib.cooc_merge(pointers.ctypes.data, _ptr(lengths, ctypes.c_int64), count,
                                 _ptr(pos, ctypes.c_int64), _ptr(heap, ctypes.c_int64), ctypes.byref(size),
                                 _ptr(out_keys, ctypes.c_int64), _ptr(out_sums, ctypes.c_double), room)
            if size.value == 0 and spilled is None:  # all of it in one go
                if got == room:
                    return out_keys, out_sums
                return out_keys[:got].copy(), out_sums[:got].copy()
            if spilled is None:
                spilled = _Merged(directory or tempfile.gettempdir())
            spilled.write(out_keys[:got], out_sums[:got])
            if size.value == 0:
                del out_keys, out_sums
                return spilled.read()
    finally:
        if spilled is not None:
            spilled.close()


class _Merged:
    """The merged keys and sums, written as they come to two unnamed temporary files, read back whole."""

    def __init__(self, directory: str) -> None:
        self.directory, self.count = directory, 0
        self.files = [_temporary_file(directory)]
        try:
            self.files.append(_temporary_file(directory))
        except DataError:
            self.close()
            raise

    def write(self, keys: np.ndarray, sums: np.ndarray) -> None:
        try:
            self.files[0].write(keys)
            self.files[1].write(sums)
        except OSError as exc:
            raise _disk_error(self.directory, exc) from None
        self.count += len(keys)

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        arrays = (np.empty(self.count, np.int64), np.empty(self.count, np.float64))
        try:
            for file, array in zip(self.files, arrays, strict=True):
                file.flush()
                file.seek(0)
                view, got = memoryview(array).cast("B"), 0
                while got < len(view):
                    step = file.readinto(view[got:])
                    if not step:
                        raise OSError(f"a temporary file ended after {got} of {len(view)} bytes")
                    got += step
        except OSError as exc:
            raise _disk_error(self.directory, exc) from None
        return arrays

    def close(self) -> None:
        for file in self.files:
            file.close()
