"""Vectors files a hostile or unlucky user can give: lying headers, NaN rows, crashed saves, a full disk.

Each case must end in one DataError naming the file (and the line, row or word), never a numpy
traceback, a huge allocation or ``nan`` scores; a failed save must leave the previous vectors whole.
"""

from __future__ import annotations

import errno
import gzip
import os
import re

import numpy as np
import pytest
from one_line import assert_one_line_error as one_line_error
from one_line import invoke

from seqlab.embeddings import vectors_io as kv_module
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import DataError

ROW = np.array([1.0, 2.0, 3.0], "<f4").tobytes()


def small(scale: float = 1.0) -> KeyedVectors:
    vectors = scale * np.arange(12, dtype=np.float32).reshape(4, 3) + 1
    return KeyedVectors(["a", "b", "c", "d"], vectors)


def write(path, data: bytes):
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def assert_one_line_error(result, *fragments: str) -> None:
    one_line_error(result, *fragments)
    assert result.stdout == ""


@pytest.fixture
def allocations(monkeypatch):
    """The sizes (in float32 values) of the matrices np.empty is asked for while the test runs."""
    sizes: list[int] = []
    empty = np.empty

    def spy(shape, *args, **kwargs):
        sizes.append(int(np.prod(shape)))
        return empty(shape, *args, **kwargs)

    monkeypatch.setattr(np, "empty", spy)
    return sizes


# ------------------------------------------------------------------------ lying headers
HEADERS = {
    "v.txt": b"3000000000 300\na " + b"1 " * 299 + b"1\nb " + b"2 " * 299 + b"2\n",
    "v.txt.gz": b"3000000000 300\na " + b"1 " * 299 + b"1\nb " + b"2 " * 299 + b"2\n",
    "v.bin": b"3000000000 3\na " + ROW + b"\nb " + ROW + b"\n",
    "v.bin.gz": b"3000000000 3\na " + ROW + b"\nb " + ROW + b"\n",
}


@pytest.mark.parametrize("name", list(HEADERS))
def test_a_header_claiming_billions_of_rows_is_refused_without_allocating_them(tmp_path, name, allocations):
    path = write(tmp_path / name, HEADERS[name])
    with pytest.raises(DataError, match="3000000000") as info:
        KeyedVectors.load(path)
    assert str(path) in str(info.value) and "truncated" in str(info.value)
    assert max(allocations, default=0) < 50_000_000  # the whole claim would be 9e11 (text) or 9e9 values


@pytest.mark.parametrize("name", ["w.txt", "w.txt.gz", "w.bin", "w.bin.gz"])
def test_a_header_claiming_a_huge_vector_size_is_refused_without_allocating_it(tmp_path, name, allocations):
    data = b"2 4000000000\na 1 2 3\nb 1 2 3\n" if ".txt" in name else b"1 4000000000\na " + ROW + b"\n"
    path = write(tmp_path / name, data)
    with pytest.raises(DataError, match=str(path).replace(".", r"\.")):
        KeyedVectors.load(path)
    assert max(allocations, default=0) < 1_000_000


def test_the_matrix_of_a_compressed_file_grows_to_the_right_size(tmp_path, monkeypatch):
    monkeypatch.setattr(kv_module, "_BLOCK_BYTES", 4 * 3 * 2)  # blocks of two rows: grown twice for 5 rows
    path = tmp_path / "g.txt.gz"
    vectors = np.arange(15, dtype=np.float32).reshape(5, 3)
    KeyedVectors(list("abcde"), vectors).save(path)
    loaded = KeyedVectors.load(path)
    assert loaded.words == list("abcde") and np.array_equal(loaded.vectors.numpy(), vectors)


def test_files_of_the_shortest_possible_rows_still_load(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"2 2\na 1 2\nb 3 4")  # no final newline
    (tmp_path / "x.bin").write_bytes(b"2 1\na " + np.float32(1).tobytes() + b"b " + np.float32(2).tobytes())
    for name in ("x.txt", "x.bin"):
        assert KeyedVectors.load(tmp_path / name).words == ["a", "b"]


# ---------------------------------------------------------------------------- NaN rows
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", ["n.txt", "n.txt.gz", "n.bin", "n.bin.gz", "ndir"])
def test_non_finite_rows_are_refused_on_load_naming_the_word_and_row(tmp_path, name, bad):
    path = tmp_path / name
    small().save(path)
    if name == "ndir":
        matrix = np.load(path / "vectors.npy")
        matrix[2, 1] = float(bad)
        np.save(path / "vectors.npy", matrix)
        where = "row 3"
    elif ".txt" in name:
        lines = (gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()).split(b"\n")
        lines[3] = b"c 1 " + bad.encode() + b" 2"
        write(path, b"\n".join(lines))
        where = "line 4"
    else:
        data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
        at = data.index(b"\nc ") + 3
        data = data[:at + 4] + np.float32(bad).tobytes() + data[at + 8:]
        write(path, data)
        where = "word 3"
    with pytest.raises(DataError) as info:
        KeyedVectors.load(path)
    message = str(info.value)
    assert str(path) in message and where in message and "'c'" in message and "NaN or infinite" in message
    limited = KeyedVectors.load(path, limit=2)  # a limit reads (and checks) only the rows before it
    assert limited.words == ["a", "b"] and np.isfinite(limited.vectors.numpy()).all()


@pytest.mark.parametrize("name", ["s.txt", "s.bin", "sdir", "s.glove"])
def test_saving_non_finite_vectors_is_refused_and_writes_nothing(tmp_path, name):
    kv = small()
    kv.vectors[1, 0] = float("nan")
    with pytest.raises(DataError, match=r"word 'b' \(row 2\) has a NaN"):
        kv.save(tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_float16_storage_refuses_values_it_would_turn_into_infinity(tmp_path):
    with pytest.raises(DataError, match=r"float16 holds at most 65504"):
        small(scale=10000.0).save(tmp_path / "big", dtype="float16")
    small(scale=1000.0).save(tmp_path / "ok", dtype="float16")  # 11001 fits
    assert len(KeyedVectors.load(tmp_path / "ok")) == 4


def write_vectors_with_nan(path) -> None:
    kv = small()
    kv.save(path)
    text = path.read_text().replace("\nc 7 8 9\n", "\nc 7 nan 9\n")
    path.write_text(text)


@pytest.mark.parametrize("command", [["similar", "a", "--vectors"], ["embed", "eval"]])
def test_cli_queries_refuse_nan_vectors_in_one_line(tmp_path, command):
    path = tmp_path / "nan.txt"
    write_vectors_with_nan(path)
    assert_one_line_error(invoke(*command, path, "--device", "cpu"), str(path), "line 4", "'c'", "NaN")


def test_debias_refuses_nan_vectors_in_one_line(tmp_path, shared_data):
    path = tmp_path / "nan.txt"
    write_vectors_with_nan(path)
    result = invoke("debias", path, "-o", tmp_path / "out.txt", "--device", "cpu", "--lists", shared_data / "debias")
    assert_one_line_error(result, str(path), "line 4", "NaN")
    assert not (tmp_path / "out.txt").exists()


# ------------------------------------------------------------------- crashed native saves
def test_a_save_that_crashed_between_its_renames_leaves_the_old_vectors_loadable(tmp_path):
    path = tmp_path / "vec"
    small().save(path)
    # the state of a crash after "move the old one aside" and before "move the new one in"
    os.replace(path, tmp_path / "vec.old.tmp")
    (tmp_path / "vec.tmp").mkdir()
    (tmp_path / "vec.tmp" / "vectors.npy").write_bytes(b"half")
    survivor = KeyedVectors.load(path)
    assert survivor.words == ["a", "b", "c", "d"] and survivor.vectors[3, 2] == 12
    result = invoke("similar", "a", "--vectors", path, "--device", "cpu")
    assert result.exit_code == 0 and result.stdout.startswith("b\t"), result.stderr
    small(scale=2.0).save(path)  # the next save cleans up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vec"]
    assert KeyedVectors.load(path).vectors[3, 2] == 23


def test_a_save_that_crashed_after_its_renames_is_cleaned_up_by_the_next(tmp_path):
    path = tmp_path / "vec"
    small().save(path)
    small(scale=3.0).save(tmp_path / "vec.old.tmp")  # stale: the new vectors were already in place
    assert KeyedVectors.load(path).vectors[3, 2] == 12
    small(scale=2.0).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vec"]


def test_a_failed_move_into_place_restores_the_old_vectors(tmp_path, monkeypatch):
    path = tmp_path / "vec"
    small().save(path)
    replace = os.replace

    def failing(src, dst):
        if str(src).endswith("vec.tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(DataError, match=re.escape(f"{path}: cannot write the vectors (No space left on device)")):
        small(scale=2.0).save(path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vec"]
    assert KeyedVectors.load(path).vectors[3, 2] == 12


# ------------------------------------------------------------------------------ full disk
class FullDisk:
    """A file whose writes fail as on a full disk (after creating the file, like a real one)."""

    def __init__(self, path, mode="wb", **kwargs):
        self.file = open(path, mode, **kwargs)  # noqa: SIM115 - closed in __exit__

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def writelines(self, lines):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


@pytest.mark.parametrize("name", ["f.txt", "f.bin", "f.txt.gz", "fdir", "f.glove", "f.glove.gz"])
def test_a_full_disk_leaves_the_previous_vectors_and_no_temporary_file(tmp_path, monkeypatch, name):
    path = tmp_path / name
    small().save(path)
    before = sorted((p.name, p.read_bytes()) for p in ([path] if path.is_file() else path.iterdir()))
    monkeypatch.setattr(kv_module, "open", FullDisk, raising=False)
    monkeypatch.setitem(kv_module._COMPRESSORS, ".gz", FullDisk)
    with pytest.raises(DataError) as info:
        small(scale=2.0).save(path)
    monkeypatch.undo()
    assert str(info.value).startswith(f"{path}: cannot write") and "No space left on device" in str(info.value)
    assert "\n" not in str(info.value)
    after = sorted((p.name, p.read_bytes()) for p in ([path] if path.is_file() else path.iterdir()))
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


# ---------------------------------------------------------------------------- GloVe text
@pytest.mark.parametrize("name", ["n.glove", "n.glove.gz", "n.txt", "n"])
def test_glove_files_with_a_nan_row_are_refused_naming_the_line(tmp_path, name):
    path = tmp_path / name
    small().save(path, fmt="glove")
    data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    write(path, data.replace(b"\nc 7 8 9\n", b"\nc 7 nan 9\n"))
    with pytest.raises(DataError, match=re.escape(f"{path}: line 3: word 'c' has a NaN or infinite value")):
        KeyedVectors.load(path)
    assert KeyedVectors.load(path, limit=2).words == ["a", "b"]
    assert_one_line_error(invoke("similar", "a", "--vectors", path, "--device", "cpu"), str(path), "line 3", "NaN")


def test_a_lying_header_read_as_glove_allocates_nothing_big(tmp_path, allocations):
    path = write(tmp_path / "v.glove", HEADERS["v.txt"])  # glove: '3000000000' is a word, 300 its one value
    with pytest.raises(DataError, match="v.glove: line 2: expected 1 values after 'a', got 300; line 1 looks like"):
        KeyedVectors.load(path)
    assert max(allocations, default=0) < 50_000_000
