"""Fuzzing ``KeyedVectors.load``: word2vec text and binary files (plain and gz, whole and truncated) with
random and lying headers, odd numbers and words, and native directories with random ``meta.json``,
``vocab.tsv`` and ``vectors.npy`` bytes.

A well-formed file must load to exactly its words and float32 values; anything else must load to a
consistent result (unique words, finite (V, D) vectors) or be refused with one DataError naming the file.
"""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
from fuzz_inputs import FUZZ, WORD, check_refusal, hostile_bytes, write
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.embeddings.keyed_vectors import NATIVE_FORMAT, NATIVE_VERSION, KeyedVectors
from seqlab.errors import SeqlabError

WORDS = st.text(st.sampled_from("abcdefgh\u00e9\u4e2d"), min_size=1, max_size=5)  # clean: no space or newline
FINITE = st.floats(width=32, allow_nan=False, allow_infinity=False)
ODD_NUMBERS = st.sampled_from(["nan", "NaN", "inf", "-inf", "infinity", "1e400", "-1e400", "1e-400", "0x1p3",
                               "1_0", "+1", "\u0661", "\uff11", "", "--1", "1e", ".", "1,5", "3.4028236e38",
                               "99999999999999999999999999999", "-0"])
NUMBER_TEXT = st.one_of(FINITE.map(repr), st.integers(-(10**40), 10**40).map(str), ODD_NUMBERS)
HEADERS = st.sampled_from(["3000000000 300", "-1 5", "1e3 2", "nan", "", "3", "3 4 5", "0 0", "0 1", "1 0", "2 -3",
                           "99999999999999999999 1", "1 99999999999999999999", "2 4611686018427387904",
                           "1 2305843009213693952", "1 536870912", "\u0663 \u0662", " 2 2", "2\t2", "2 2 ", "0x2 2"])
LIMITS = st.one_of(st.none(), st.integers(0, 3))


def load(path, limit, *names):
    """The vectors at ``path``, or None after checking the refusal; any other exception fails the test."""
    try:
        kv = KeyedVectors.load(path, limit=limit)
    except SeqlabError as exc:
        check_refusal(exc, *(names or (path,)))
        return None
    vectors = kv.vectors.numpy()
    assert vectors.ndim == 2 and vectors.shape[0] == len(kv.words) == len(set(kv.words))
    assert np.isfinite(vectors).all() and all(isinstance(w, str) for w in kv.words)
    assert limit is None or len(kv) <= limit
    return kv


def check_clean(kv, words, rows, limit):
    wanted = len(words) if limit is None else min(limit, len(words))
    assert kv is not None, "refused a well-formed file"
    assert kv.words == words[:wanted]
    assert kv.vectors.shape == (wanted, rows.shape[1])
    np.testing.assert_array_equal(kv.vectors.numpy(), rows[:wanted])


@st.composite
def clean_vectors(draw: st.DrawFn) -> tuple[list[str], np.ndarray]:
    words = draw(st.lists(WORDS, min_size=0, max_size=6, unique=True))
    dim = draw(st.integers(1, 5))
    values = draw(st.lists(FINITE, min_size=len(words) * dim, max_size=len(words) * dim))
    return words, np.asarray(values, dtype=np.float32).reshape(len(words), dim)


def packed(data: bytes, gz: bool, cut: int) -> bytes:
    """``data``, gzipped when ``gz``, then without its last ``cut`` bytes."""
    data = gzip.compress(data) if gz else data
    return data[: len(data) - cut] if cut else data


# ----------------------------------------------------------------------------------- word2vec text
@settings(settings.get_profile(FUZZ))
@given(vectors=clean_vectors(), gz=st.booleans(), line_end=st.sampled_from(["\n", "\r\n"]), limit=LIMITS)
def test_text_well_formed(folder, vectors, gz, line_end, limit):
    words, rows = vectors
    lines = [f"{len(words)} {rows.shape[1]}"] + [" ".join([w, *map(repr, row.tolist())]) for w, row in
                                                zip(words, rows, strict=True)]
    path = write(folder, "v.txt.gz" if gz else "v.txt", packed((line_end.join(lines) + line_end).encode(), gz, 0))
    check_clean(load(path, limit), words, rows, limit)


@st.composite
def text_files(draw: st.DrawFn) -> bytes:
    rows = draw(st.lists(st.tuples(st.one_of(WORDS, WORD), st.lists(NUMBER_TEXT, max_size=5)), max_size=6))
    dim = draw(st.integers(1, 5))
    header = draw(st.one_of(st.just(f"{len(rows)} {dim}"), HEADERS, st.text(max_size=12)))
    separator = draw(st.sampled_from([" ", "  ", "\t", "\u00a0"]))
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r", ""]))
    lines = [header] + [separator.join([word, *values]) for word, values in rows]
    return (line_end.join(lines) + draw(st.sampled_from(["", line_end]))).encode(
        draw(st.sampled_from(["utf-8", "utf-8", "latin-1"])), "replace")


@settings(settings.get_profile(FUZZ))
@given(data=st.one_of(text_files(), hostile_bytes(20)), gz=st.booleans(), cut=st.integers(0, 3) | st.just(0),
       limit=LIMITS)
@example(data=b"1 99999999999999999999\na 1\n", gz=False, cut=0, limit=None)  # bug 1: numpy "maximum dimension"
@example(data=b"1 4611686018427387904\na 1\n", gz=False, cut=0, limit=None)  # bug 1: numpy "array is too big"
def test_text_hostile(folder, data, gz, cut, limit):
    path = write(folder, "v.txt.gz" if gz else "v.txt", packed(data, gz, cut))
    load(path, limit)


# --------------------------------------------------------------------------------- word2vec binary
def binary_file(words: list[str], rows: np.ndarray, newline: bool, header: str | None = None) -> bytes:
    out = io.BytesIO()
    out.write(((header if header is not None else f"{len(words)} {rows.shape[1]}") + "\n").encode())
    for word, row in zip(words, rows, strict=True):
        word_bytes = word.encode("utf-8", "surrogatepass")  # a lone surrogate makes bytes that are not UTF-8
        out.write(word_bytes + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b""))
    return out.getvalue()


@settings(settings.get_profile(FUZZ))
@given(vectors=clean_vectors(), gz=st.booleans(), newline=st.booleans(), limit=LIMITS)
def test_binary_well_formed(folder, vectors, gz, newline, limit):
    words, rows = vectors
    path = write(folder, "v.bin.gz" if gz else "v.bin", packed(binary_file(words, rows, newline), gz, 0))
    check_clean(load(path, limit), words, rows, limit)


@st.composite
def binary_files(draw: st.DrawFn) -> bytes:
    """Binary files with random words, raw float bytes (NaN and infinities too), lying headers, cuts."""
    words = draw(st.lists(st.one_of(WORDS, WORD), max_size=5))
    dim = draw(st.integers(1, 4))
    raw = draw(st.binary(min_size=4 * dim * len(words), max_size=4 * dim * len(words)))
    rows = np.frombuffer(raw, dtype="<f4").reshape(len(words), dim)
    header = draw(st.one_of(st.none(), HEADERS, st.text(max_size=12)))
    data = binary_file(words, rows, draw(st.booleans()), header)
    return data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data


@settings(settings.get_profile(FUZZ))
@given(data=st.one_of(binary_files(), hostile_bytes(20)), gz=st.booleans(), cut=st.integers(0, 3) | st.just(0),
       limit=LIMITS)
@example(data=b"1 99999999999999999999\na 1234\n", gz=False, cut=0, limit=None)  # bug 1
@example(data=b"1 4611686018427387904\na 1234\n", gz=True, cut=0, limit=None)  # bug 1
def test_binary_hostile(folder, data, gz, cut, limit):
    path = write(folder, "v.bin.gz" if gz else "v.bin", packed(data, gz, cut))
    load(path, limit)


# ---------------------------------------------------------------------------------------- native


def _nested(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8),
              st.sampled_from([NATIVE_FORMAT, "float32", "float16", "float64", "int64", NATIVE_VERSION])),
    _nested, max_leaves=6)
META_KEYS = ["format", "version", "vocab_size", "vector_size", "dtype", "has_counts"]


@st.composite
def native_directories(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    """(meta.json, vocab.tsv, vectors.npy) bytes: a consistent directory with some parts damaged or
    replaced by random values or bytes."""
    words, rows = draw(clean_vectors())
    dtype = draw(st.sampled_from(["float32", "float16", "float64", "int32", "bool", "complex64"]))
    meta = {"format": NATIVE_FORMAT, "version": NATIVE_VERSION, "vocab_size": len(words),
            "vector_size": rows.shape[1], "dtype": draw(st.sampled_from([dtype, "float32", "float16"])),
            "has_counts": draw(st.booleans())}
    for key in draw(st.lists(st.sampled_from(META_KEYS), max_size=2)):
        meta[key] = draw(JSON_VALUES)
    meta_bytes = draw(st.one_of(st.just(json.dumps(meta).encode()), st.just(json.dumps(meta).encode()),
                                hostile_bytes(10), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                                st.just(json.dumps(meta).replace(f'"vocab_size": {len(words)}',
                                                                 '"vocab_size": 1e400').encode())))
    counts = draw(st.lists(st.one_of(st.integers(0, 10**6), st.integers(-(2**80), 2**80), NUMBER_TEXT,
                                     st.sampled_from(["", "\t", "1\t2"])), min_size=len(words), max_size=len(words)))
    vocab = "".join(f"{w}\t{c}\n" for w, c in zip(words, counts, strict=True)).encode()
    vocab = draw(st.one_of(st.just(vocab), st.just(vocab), st.just(vocab[: len(vocab) // 2]), hostile_bytes(10)))
    shape = draw(st.sampled_from([rows.shape, rows.shape[::-1], (rows.size,), (1, *rows.shape), (len(words) + 1, 1)]))
    with np.errstate(over="ignore", invalid="ignore"):  # float32 -> float16 or int32: inf, or any number
        array = np.zeros(shape, dtype=dtype) if shape != rows.shape else rows.astype(dtype)
    saved = npy(np.asfortranarray(array) if draw(st.booleans()) else array)
    saved = draw(st.one_of(st.just(saved), st.just(saved), st.integers(0, len(saved)).map(lambda n: saved[:n]),
                           st.binary(max_size=200)))
    return meta_bytes, vocab, saved


META = json.dumps({"format": NATIVE_FORMAT, "version": NATIVE_VERSION, "vocab_size": 1, "vector_size": 1,
                   "dtype": "float32", "has_counts": True})


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


NPY_1x1 = npy(np.zeros((1, 1), np.float32))


@settings(settings.get_profile(FUZZ))
@given(files=native_directories(), limit=LIMITS)
@example(files=(META.replace('"vocab_size": 1', '"vocab_size": 1e400').encode(), b"a\t1\n", NPY_1x1),
         limit=None)  # bug 2: OverflowError (int of infinity)
@example(files=(META.encode(), b"a\t1\n", b""), limit=None)  # bug 3: EOFError from numpy
@example(files=(META.encode(), b"a\t99999999999999999999999\n", NPY_1x1), limit=None)  # bug 4: OverflowError
def test_native_directory(folder, files, limit):
    directory = folder / "native"
    directory.mkdir(exist_ok=True)
    for name, data in zip(["meta.json", "vocab.tsv", "vectors.npy"], files, strict=True):
        write(directory, name, data)
    kv = load(directory, limit, directory)
    if kv is not None and kv.counts is not None:
        assert kv.counts.dtype == np.int64 and len(kv.counts) == len(kv)


@settings(settings.get_profile(FUZZ))
@given(vectors=clean_vectors(), dtype=st.sampled_from(["float32", "float16"]), limit=LIMITS)
def test_native_round_trip(folder, vectors, dtype, limit):
    words, rows = vectors
    if not words:
        return
    if dtype == "float16":
        rows = np.clip(rows, -65504, 65504).astype(np.float16).astype(np.float32)
    path = folder / "saved"
    KeyedVectors(words, rows).save(path, dtype=dtype)
    check_clean(load(path, limit), words, rows, limit)
