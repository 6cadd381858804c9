"""Word vectors and their queries: a small, gensim-compatible ``KeyedVectors``.

A vocabulary of V words indexes the rows of a (V, D) float32 matrix. Queries run on the unit-normalised
rows u_i = v_i / ||v_i||, kept on ``device`` (CPU or CUDA, same code) and scored as one matrix product:

* 3CosAdd (Mikolov et al., 2013, "Linguistic Regularities in Continuous Space Word Representations"):
  score(w) = cos(u_w, m) with m = sum_i s_i u_i, s_i = +1 for positive and -1 for negative words.
  ``analogy(a, b, c)`` asks for a - b + c, so king - man + woman -> queen.
* 3CosMul (Levy & Goldberg, 2014, "Linguistic Regularities in Sparse and Explicit Word
  Representations", eq. 4 with cosines shifted to [0, 1] as in their footnote 7):
  score(w) = prod_pos (1 + cos(u_w, u_p)) / 2 / (prod_neg (1 + cos(u_w, u_n)) / 2 + 1e-6).

Both follow gensim 4.4's ``most_similar`` / ``most_similar_cosmul`` exactly, query words excluded.

Files: word2vec text (``.txt``/``.vec``, optionally ``.gz``/``.bz2``/``.xz``) and binary (``.bin``) as
written by word2vec.c and gensim, and a native directory (``vectors.npy`` + ``vocab.tsv`` +
``meta.json``) that loads fast and can ship float16.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import importlib.resources
import json
import lzma
import os
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from seqlab.device import resolve_device
from seqlab.errors import DataError, UnknownWordError
from seqlab.io import atomic_path, check_readable, open_binary

NATIVE_FORMAT = "seqlab-keyed-vectors"
NATIVE_VERSION = 1
FORMATS = ("text", "bin", "native")
COSMUL_EPS = 1e-6  # gensim's constant in most_similar_cosmul
_COMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_NATIVE_DTYPES = ("float32", "float16")
MAX_VECTOR_SIZE = 2**31 - 1  # far above any real embedding; numpy cannot even shape an empty (0, 2**61) matrix
_BLOCK_BYTES = 64 << 20  # a text file of unknown size: the matrix grows from this, doubling
_CHECK_ROWS = 1 << 16  # rows checked for NaN at a time

# (word, weight) or a bare word, as in gensim's most_similar
WordOrWeighted = str | tuple[str, float]


def cosmul_scores(cos_positive: torch.Tensor, cos_negative: torch.Tensor) -> torch.Tensor:
    """3CosMul from cosines: ``(..., P, R)`` and ``(..., N, R)`` -> ``(..., R)``.

    An empty N gives a denominator of 1 + eps, as in gensim.
    """
    numerator = ((1 + cos_positive) / 2).prod(dim=-2)
    denominator = ((1 + cos_negative) / 2).prod(dim=-2)
    return numerator / (denominator + COSMUL_EPS)


def topk_excluding(scores: torch.Tensor, exclude: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top ``k`` of ``scores`` (B, R) along the last dim, never choosing the indices in ``exclude`` (B, E).

    Excluded indices may lie outside [0, R) (then they are ignored). Returns (values, indices), each
    (B, min(k, R)), best first; positions that had to be filled with excluded entries hold -inf.
    ``scores`` is modified in place.
    """
    num_rows = scores.shape[-1]
    inside = exclude < num_rows
    # amin with +inf is a no-op, so out-of-range exclusions can point anywhere (index 0) harmlessly.
    index = torch.where(inside, exclude, torch.zeros_like(exclude))
    fill = torch.full(exclude.shape, float("inf"), dtype=scores.dtype, device=scores.device)
    fill.masked_fill_(inside, float("-inf"))
    scores.scatter_reduce_(-1, index, fill, reduce="amin")
    return torch.topk(scores, min(k, num_rows), dim=-1)


class KeyedVectors:
    """Words and their vectors: ``words[i]`` owns row i of ``vectors`` (V, D).

    ``counts`` (V,) int64 holds corpus frequencies when known (None otherwise). Queries use the
    unit-normalised matrix on ``device``, computed lazily and recomputed when ``vectors`` changes.
    """

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray | torch.Tensor,
        counts: np.ndarray | Sequence[int] | None = None,
    ) -> None:
        matrix = torch.as_tensor(np.asarray(vectors) if not torch.is_tensor(vectors) else vectors)
        matrix = matrix.detach().to("cpu", torch.float32).contiguous()
        if matrix.ndim != 2:
            raise ValueError(f"vectors must be a (V, D) matrix, got shape {tuple(matrix.shape)}")
        self.words: list[str] = list(words)
        if len(self.words) != matrix.shape[0]:
            raise ValueError(f"{len(self.words)} words but {matrix.shape[0]} vectors")
        self.key_to_index: dict[str, int] = {}
        for i, word in enumerate(self.words):
            if not isinstance(word, str):
                raise TypeError(f"word {i} is {type(word).__name__}, expected str")
            first = self.key_to_index.setdefault(word, i)
            if first != i:
                raise DataError(f"duplicate word {word!r} at index {first} and {i}; words must be unique")
        self.counts: np.ndarray | None = None
        if counts is not None:
            self.counts = np.asarray(counts, dtype=np.int64).copy()
            if self.counts.shape != (len(self.words),):
                raise ValueError(f"counts has shape {self.counts.shape}, expected ({len(self.words)},)")
        self._vectors = matrix
        self.source: str | None = None  # the file the vectors came from, named in error messages
        self.device = torch.device("cpu")
        self._unit: torch.Tensor | None = None
        self._unit_key: tuple | None = None

    # ----------------------------------------------------------------- vocabulary and vectors
    @property
    def vectors(self) -> torch.Tensor:
        """The (V, D) float32 CPU matrix, row i for ``words[i]``."""
        return self._vectors

    @vectors.setter
    def vectors(self, value: torch.Tensor | np.ndarray) -> None:
        value = torch.as_tensor(value).detach().to("cpu", torch.float32).contiguous()
        if value.shape[0] != len(self.words) or value.ndim != 2:
            raise ValueError(f"vectors must have shape ({len(self.words)}, D), got {tuple(value.shape)}")
        self._vectors = value
        self._unit = None

    @property
    def vector_size(self) -> int:
        """D, the number of dimensions."""
        return self._vectors.shape[1]

    @property
    def index_to_key(self) -> list[str]:
        """gensim's name for ``words``."""
        return self.words

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words x {self.vector_size} dims, device={self.device})"

    def index(self, word: str) -> int:
        """Row of ``word``; UnknownWordError when it is not in the vocabulary."""
        try:
            return self.key_to_index[word]
        except KeyError:
            where = f"the vocabulary of {self.source}" if self.source else "the vocabulary"
            raise UnknownWordError(word, where) from None

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """A copy of the (D,) vector of ``word``, unit-normalised when ``norm``."""
        row = self.unit_vectors()[self.index(word)] if norm else self._vectors[self.index(word)]
        return row.cpu().numpy().copy()

    def __getitem__(self, word: str) -> np.ndarray:
        return self.get_vector(word)

    def to(self, device: str | torch.device) -> KeyedVectors:
        """Run queries on ``device`` (``auto``, ``cpu``, ``cuda``...); returns self, like nn.Module.to."""
        self.device = resolve_device(device)
        return self

    def unit_vectors(self) -> torch.Tensor:
        """The (V, D) unit-normalised rows on ``self.device`` (cached; rebuilt after any change)."""
        key = (id(self._vectors), self._vectors._version, self.device)
        if self._unit is None or self._unit_key != key:
            matrix = self._vectors.to(self.device)
            norms = torch.linalg.vector_norm(matrix, dim=1, keepdim=True)
            # A zero row stays zero (gensim would give NaN), so it is never anyone's neighbour by accident.
            self._unit = matrix / norms.clamp_min(torch.finfo(matrix.dtype).tiny)
            self._unit_key = key
        return self._unit

    def _indices(self, words: Iterable[str]) -> torch.Tensor:
        return torch.tensor([self.index(w) for w in words], dtype=torch.long, device=self.device)

    def _ranked(self, scores: torch.Tensor, exclude: torch.Tensor, topn: int) -> list[tuple[str, float]]:
        values, indices = topk_excluding(scores[None], exclude[None], topn)
        return [
            (self.words[i], v)
            for v, i in zip(values[0].tolist(), indices[0].tolist(), strict=True)
            if v != float("-inf")
        ]

    # ----------------------------------------------------------------------------- queries
    def most_similar(
        self,
        positive: WordOrWeighted | Sequence[WordOrWeighted] = (),
        negative: WordOrWeighted | Sequence[WordOrWeighted] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """3CosAdd: the ``topn`` words nearest (cosine) to the mean of +positive and -negative unit vectors.

        Items may be ``(word, weight)`` pairs; only the first ``restrict_vocab`` rows are searched.
        Query words are never returned. Result: [(word, cosine)], best first.
        """
        if topn < 1:
            return []
        terms = _weighted(positive, 1.0) + _weighted(negative, -1.0)
        if not terms:
            raise ValueError("most_similar needs at least one positive or negative word")
        index = self._indices(word for word, _ in terms)
        weight = torch.tensor([w for _, w in terms], dtype=torch.float32, device=self.device)
        unit = self.unit_vectors()
        mean = weight @ unit[index]  # (D,); gensim also divides by sum |w|, which the norm below undoes
        mean = mean / torch.linalg.vector_norm(mean).clamp_min(torch.finfo(mean.dtype).tiny)
        scores = unit[:restrict_vocab] @ mean  # (R,)
        return self._ranked(scores, index, topn)

    def most_similar_cosmul(
        self,
        positive: str | Sequence[str] = (),
        negative: str | Sequence[str] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """3CosMul (Levy & Goldberg 2014): [(word, score)], best first, query words excluded.

        Unlike gensim 4.4 (which ignores it here), ``restrict_vocab`` limits the search to the first rows.
        """
        if topn < 1:
            return []
        positive, negative = _listed(positive), _listed(negative)
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word")
        index = self._indices([*positive, *negative])
        unit = self.unit_vectors()
        cosines = unit[index] @ unit[:restrict_vocab].T  # (P + N, R)
        scores = cosmul_scores(cosines[: len(positive)], cosines[len(positive) :])
        return self._ranked(scores, index, topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 10, method: str = "add") -> list[tuple[str, float]]:
        """Words nearest to a - b + c, by 3CosAdd or 3CosMul: ``analogy("king", "man", "woman")`` -> queen."""
        if method == "add":
            return self.most_similar(positive=[a, c], negative=[b], topn=topn)
        if method == "mul":
            return self.most_similar_cosmul(positive=[a, c], negative=[b], topn=topn)
        raise ValueError(f"method must be 'add' or 'mul', got {method!r}")

    def similar_by_word(
        self, word: str, topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """The ``topn`` nearest neighbours of ``word`` by cosine, itself excluded."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def similarity(self, word1: str, word2: str) -> float:
        """Cosine similarity of two words."""
        unit = self.unit_vectors()
        return float(unit[self.index(word1)] @ unit[self.index(word2)])

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word farthest (cosine) from the normalised mean of the words' unit vectors (gensim's rule)."""
        words = list(words)
        if not words:
            raise ValueError("doesnt_match needs at least one word")
        rows = self.unit_vectors()[self._indices(words)]  # (n, D)
        mean = rows.mean(dim=0)
        mean = mean / torch.linalg.vector_norm(mean).clamp_min(torch.finfo(mean.dtype).tiny)
        distances = (rows @ mean).tolist()
        # gensim sorts (similarity, word) pairs and takes the last: the minimum, ties to the smaller word
        return min(zip(distances, words, strict=True))[1]

    # ------------------------------------------------------------------------------- files
    def save(self, path: str | os.PathLike, fmt: str | None = None, dtype: str = "float32") -> Path:
        """Write to ``path`` atomically; the format comes from ``fmt`` or the extension (see module doc).

        ``dtype="float16"`` halves a native directory; word2vec files are always float32.
        """
        path = Path(path)
        fmt = _format_of(path, fmt)
        if fmt != "native" and dtype != "float32":
            raise ValueError(f"dtype={dtype!r} is only for the native format; {path} is word2vec {fmt}")
        if dtype not in _NATIVE_DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_NATIVE_DTYPES)}, got {dtype!r}")
        _check_storable(self, path, dtype)
        if fmt == "native":
            _save_native(self, path, dtype)
        else:
            _save_word2vec(self, path, binary=fmt == "bin")
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        fmt: str | None = None,
        limit: int | None = None,
        device: str | torch.device = "cpu",
    ) -> KeyedVectors:
        """Read vectors saved by :meth:`save`, word2vec.c or gensim; keep the first ``limit`` words."""
        path = Path(path)
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        fmt = "native" if fmt is None and path.is_dir() else _format_of(path, fmt)
        if fmt == "native":
            kv = _load_native(cls, _surviving(path), limit)
        else:
            kv = _load_word2vec(cls, path, limit, binary=fmt == "bin")
        kv.source = str(path)
        return kv.to(device)


def _listed(value: WordOrWeighted | Sequence[WordOrWeighted] | None) -> list:
    """gensim's convenience: a single word, or one (word, weight) pair, stands for a one-item list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int | float):
        return [value]
    return list(value)


def _weighted(
    items: WordOrWeighted | Sequence[WordOrWeighted] | None, default: float
) -> list[tuple[str, float]]:
    """(word, weight) pairs; bare words get ``default`` (+1 for positive, -1 for negative)."""
    return [
        (item, default) if isinstance(item, str) else (item[0], float(item[1])) for item in _listed(items)
    ]


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSORS:
        suffixes.pop()
    last = suffixes[-1] if suffixes else ""
    return "text" if last in (".txt", ".vec") else "bin" if last == ".bin" else "native"


# ------------------------------------------------------------------------ word2vec formats
def _save_word2vec(kv: KeyedVectors, path: Path, binary: bool) -> None:
    for word in kv.words:
        if not word or " " in word or "\n" in word:
            raise DataError(
                f"{path}: word {word!r} cannot be stored in word2vec format (empty, space or newline)"
            )
    matrix = kv.vectors.numpy()
    row_format = " ".join(["%.9g"] * kv.vector_size)  # 9 significant digits round-trip any float32
    opener = _COMPRESSORS.get(path.suffix.lower(), open)
    try:
        with atomic_path(path) as tmp, opener(tmp, "wb") as fh:
            fh.write(f"{len(kv)} {kv.vector_size}\n".encode())
            for word, row in zip(kv.words, matrix, strict=True):
                if binary:  # word2vec.c: "word " + D little-endian float32 + "\n"
                    fh.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
                else:
                    fh.write(f"{word} {row_format % tuple(row.tolist())}\n".encode())
    except OSError as exc:  # a full disk, a read-only place: the previous file is left as it was
        raise DataError(f"{path}: cannot write the vectors ({exc.strerror or exc})") from None


def _read_header(path: Path, line: bytes) -> tuple[int, int]:
    try:
        vocab_size, vector_size = (int(x) for x in line.decode("utf-8").split())
    except (ValueError, UnicodeDecodeError):
        raise DataError(
            f"{path}: line 1: expected a word2vec header 'vocab_size vector_size', got {line[:60]!r}"
        ) from None
    if vocab_size < 0 or vector_size < 1:
        raise DataError(f"{path}: line 1: bad word2vec header {vocab_size} x {vector_size}")
    if vector_size > MAX_VECTOR_SIZE:
        raise DataError(f"{path}: line 1: bad word2vec header {vocab_size} x {vector_size}: more than "
                        f"{MAX_VECTOR_SIZE:,} dimensions, which no vectors file holds; is this a word2vec file?")
    return vocab_size, vector_size


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


def _load_word2vec(cls: type[KeyedVectors], path: Path, limit: int | None, binary: bool) -> KeyedVectors:
    with open_binary(path) as fh:
        try:
            line = fh.readline()
            header = _read_header(path, line)
            wanted = header[0] if limit is None else min(header[0], limit)
            if binary:
                words, matrix = _read_binary_rows(path, fh, header, wanted)
            else:
                words, matrix = _read_text_rows(path, fh, header, wanted, _plain_size(path, line))
        except (OSError, EOFError) as exc:  # a damaged .gz and the like
            raise DataError(f"{path}: cannot read ({exc})") from None
    where = "word" if binary else "line"
    _check_finite(path, matrix, words, where, 1 if binary else 2)
    return cls(words, matrix)


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


def _read_text_rows(
    path: Path, fh, header: tuple[int, int], wanted: int, size: int | None
) -> tuple[list[str], np.ndarray]:
    vector_size = header[1]
    words: list[str] = []
    seen: set[str] = set()
    rows = _room(wanted, 2 * vector_size + 1, size, slack=1)  # " 0 0\n" is the shortest row
    matrix = np.empty((rows, vector_size), dtype=np.float32)
    for i in range(wanted):
        line_no = i + 2
        raw = fh.readline()
        if not raw:
            raise DataError(f"{path}: line {line_no}: file ends after {i} of {wanted} vectors (header: "
                            f"{header[0]} x {vector_size}); it is truncated or its header is wrong")
        try:
            line = raw.decode("utf-8").rstrip()
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: line {line_no}: not valid UTF-8 ({exc.reason})") from None
        word, _, rest = line.partition(" ")
        values = rest.split()
        if len(values) != vector_size:
            raise DataError(
                f"{path}: line {line_no}: expected {vector_size} values after {word!r}, got {len(values)}"
            )
        if i == len(matrix):
            matrix = _grown(matrix, wanted)
        try:
            matrix[i] = values
        except ValueError:
            raise DataError(
                f"{path}: line {line_no}: word {word!r} has a value that is not a number"
            ) from None
        _check_new(path, seen, word, f"line {line_no}")
        words.append(word)
    return words, matrix


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


def _check_finite(path: Path, matrix: np.ndarray, words: Sequence[str], where: str, first: int) -> None:
    """Refuse vectors read with NaN or infinite values: their cosines are NaN, so every query would be
    garbage. ``where`` and ``first`` say how rows are numbered in the message (``line`` from 2 in text)."""
    bad = _first_bad_row(matrix, matrix.dtype.name)
    if bad is not None:
        raise DataError(
            f"{path}: {where} {bad + first}: word {words[bad]!r} has a NaN or infinite value; the vectors are "
            f"damaged (a diverged training run?): retrain them or remove that row"
        )


def _check_storable(kv: KeyedVectors, path: Path, dtype: str) -> None:
    """Refuse to write vectors that the loader would refuse: NaN or infinite once stored as ``dtype``."""
    bad = _first_bad_row(kv.vectors.numpy(), dtype)
    if bad is not None:
        raise DataError(
            f"{path}: word {kv.words[bad]!r} (row {bad + 1}) has a NaN or infinite value as {dtype}; refusing "
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


def _save_native(kv: KeyedVectors, path: Path, dtype: str) -> None:
    for word in kv.words:
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
        _write_native_files(kv, tmp, dtype)
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


def _write_native_files(kv: KeyedVectors, directory: Path, dtype: str) -> None:
    """vectors.npy, vocab.tsv and meta.json into a new ``directory``, each synced to the disk."""
    counts = kv.counts if kv.counts is not None else np.zeros(len(kv), dtype=np.int64)
    meta = {
        "format": NATIVE_FORMAT,
        "version": NATIVE_VERSION,
        "vocab_size": len(kv),
        "vector_size": kv.vector_size,
        "dtype": dtype,
        "has_counts": kv.counts is not None,
    }
    with open(directory / "vectors.npy", "wb") as fh:
        np.save(fh, kv.vectors.numpy().astype(dtype), allow_pickle=False)
        _sync(fh)
    with open(directory / "vocab.tsv", "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(f"{word}\t{count}\n" for word, count in zip(kv.words, counts.tolist(), strict=True))
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


def _load_native(cls: type[KeyedVectors], path: Path, limit: int | None) -> KeyedVectors:
    if not path.is_dir():
        if path.exists():
            raise DataError(
                f"{path}: not a seqlab vectors directory; use a .txt, .vec or .bin name for word2vec"
            )
        raise DataError(f"{path}: no such vectors directory")
    meta_path = check_readable(path / "meta.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        shape = (_whole(meta["vocab_size"]), _whole(meta["vector_size"]))
        ok = meta["format"] == NATIVE_FORMAT and meta["dtype"] in _NATIVE_DTYPES
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
    _check_finite(vectors_path, stored[:wanted], words, "row", 1)
    matrix = np.array(stored[:wanted], dtype=np.float32)
    return cls(words, matrix, counts if meta.get("has_counts") else None)


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


# -------------------------------------------------------------------------- shipped vectors
def default_vectors_path() -> Path:
    """Where the shipped default vectors live: ``seqlab.data/default_vectors`` (repo: ``data/``)."""
    try:
        root = importlib.resources.files("seqlab.data")
        if isinstance(root, Path):
            return root / "default_vectors"
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "data" / "default_vectors"


def load_default_vectors(device: str | torch.device = "cpu") -> KeyedVectors:
    """Load the shipped default vectors, or raise DataError saying how to make some."""
    path = default_vectors_path()
    if not path.exists():
        raise DataError(
            f"default vectors not found at {path}; train some with `seqlab embed train` and pass --vectors"
        )
    return KeyedVectors.load(path, device=device)
