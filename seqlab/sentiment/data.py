"""Labelled sentences: SST / TSV / CSV readers, the word vocabulary with UNK, padded batches and
pretrained vectors aligned to the vocabulary.

Files: SST sentence level (``LABEL text``, Socher et al. 2013 as distributed in harvardnlp's
``stsa.*``), ``label<TAB>text`` (``.tsv``) or CSV with chosen label and text columns. Labels are
class indices ``0..C-1`` or class names. The vocabulary is built from the training split only
(id 0 is padding, id 1 ``<unk>``, every other word a training word); a pretrained row is copied for
each vocabulary word found in the vectors (exactly, else lowercased), the rest are drawn from a
normal with the pretrained rows' standard deviation. Every text is split by :func:`tokenize`, SST's
own conventions, which training, evaluation, prediction and the IMDB pretraining corpus share.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from seqlab.embeddings.keyed_vectors import load_default_vectors
from seqlab.embeddings.vectors_io import format_of, read_vectors
from seqlab.errors import ConfigError, DataError
from seqlab.io import open_binary, read_lines
from seqlab.text.padding import pad_ids
from seqlab.text.vocab import Vocab

PAD, UNK = 0, 1
PAD_WORD, UNK_WORD = "<pad>", "<unk>"
FORMATS = ("auto", "sst", "tsv", "csv")
LABEL_NAMES = {
    2: ("negative", "positive"),
    5: ("very negative", "negative", "neutral", "positive", "very positive"),
}

# One tokeniser for everything a sentiment model reads: training and evaluation files, text typed at
# prediction time and the IMDB pretraining corpus. It writes text the way SST does (Socher et al. 2013:
# the Penn Treebank tokeniser, lowercased), so that user text meets the model's words, and SST lines,
# being tokenised already, come out as their whitespace split (tests/sentiment/test_tokenize.py).
_CLITIC = r"(?:s|re|ve|ll|d|m|em|n'?|til|\d+s?)(?![^\W_])"  # 's 're 've 'll 'd 'm 'em 'n' 'til '70s
_ABBREVIATIONS = r"(?:mr|mrs|ms|dr|jr|sr|st|vs|vol|etc|inc|co|bros|al|sept|wash|pa)"  # SST's, kept with their dot
_WORD = r"[^\W_]+(?:(?:[-'.&]|\\/)[^\W_]+)*"  # letters/digits (any script) joined by - ' . & or SST's \/
_TOKEN = re.compile(
    r"n't|'" + _CLITIC + r"|ol'(?![^\W_])"
    r"|(?:[^\W_]\.){2,}"  # u.s., e.t.
    r"|(?:" + _ABBREVIATIONS + r"|[^\W_])\.(?=\s+\S)"  # mr. smith, j. lo: not at the end of the text
    r"|no\.(?=\s*\d)|[^\W_]+\.(?=\s+\.(?!\S))"  # no. 5; "no. ." (PTB splits only the sentence's last dot)
    r"|\d+(?:,\d{3})+(?:\.\d+)?"  # 2,500
    r"|[^\W_]+-(?=\s)"  # anti- castro
    r"|" + _WORD + r"|-lrb-|-rrb-|\.\.\.|--|``|''|`|(?:\\\*)+|\\/|[!?]{2,}|[^\s\w]|_+",
    re.IGNORECASE)
_OPENING_QUOTE = re.compile(r"(^|[\s(\[{])'(?!" + _CLITIC + r")(?=[^\W_])", re.IGNORECASE)
_REPLACE = str.maketrans({"(": " -lrb- ", "[": " -lrb- ", "{": " -lrb- ", ")": " -rrb- ", "]": " -rrb- ",
                          "}": " -rrb- ", "\u201c": " `` ", "\u201d": " '' ", "\u2018": "'", "\u2019": "'",
                          "\u2026": " ... ", "\u2014": " -- ", "\u2013": " -- "})


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    r"""SST's tokens of ``text``: ``Won't (really) "fun"`` -> wo n't -lrb- really -rrb- `` fun ''.

    Penn Treebank conventions as SST writes them: contractions split (``is n't``, ``ca n't``, ``can not``,
    ``it 's``), brackets as ``-lrb-`` / ``-rrb-``, double quotes as `` and '' (alternating) and an
    opening single quote as `, ``/`` and ``*`` escaped (``writer\/director`` is one token), ``...``,
    ``--``, abbreviations (``mr.``, ``u.s.``, ``etc.`` before more text) and accented words whole.
    Already tokenised SST text is a fixed point: its whitespace split comes back.
    """
    if lowercase:
        text = text.lower()
    text = text.translate(_REPLACE)
    text = re.sub(r"(?<!\\)([/*])", r"\\\1", text)
    text = re.sub(r"\b(can)(not)\b", r"\1 \2", text, flags=re.IGNORECASE)
    text = re.sub(r"([^\W_])(n't)\b", r"\1 \2", text, flags=re.IGNORECASE)
    text = re.sub(r"([^\W_])('(?:s|re|ve|ll|d|m))\b", r"\1 \2", text, flags=re.IGNORECASE)
    text = _OPENING_QUOTE.sub(r"\1` ", text)
    tokens = _TOKEN.findall(text)
    opening = True
    for i, token in enumerate(tokens):
        if token == '"':
            tokens[i] = "``" if opening else "''"
            opening = not opening
    return tokens


def label_names(num_classes: int, names: str = "") -> tuple[str, ...]:
    """Class names: the comma-separated ``names``, else SST's for 2 or 5 classes, else ``0..C-1``."""
    if names:
        found = tuple(n.strip() for n in names.split(","))
        if len(found) != num_classes or len(set(found)) != len(found) or not all(found):
            raise ConfigError(f"labels {names!r}: need {num_classes} distinct, non-empty names")
        return found
    return LABEL_NAMES.get(num_classes, tuple(str(i) for i in range(num_classes)))


@dataclass
class Examples:
    """Tokenised sentences with their class indices, and where each came from (file, line)."""

    tokens: list[list[str]]
    labels: list[int]
    source: str = ""
    lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def file_format(path: str | os.PathLike, fmt: str = "auto") -> str:
    """``fmt``, or for ``auto`` the format the file name says: .tsv, .csv, else SST."""
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() not in (".gz", ".bz2", ".xz")]
    last = suffixes[-1] if suffixes else ""
    return "tsv" if last == ".tsv" else "csv" if last == ".csv" else "sst"


def _label_index(value: str, names: Sequence[str], where: str) -> int:
    value = value.strip()
    lowered = [n.lower() for n in names]
    if value.lower() in lowered:
        return lowered.index(value.lower())
    try:
        index = int(value)
    except ValueError:
        raise DataError(f"{where}: label {value!r} is neither a class index nor one of "
                        f"{', '.join(names)}") from None
    if not 0 <= index < len(names):
        raise DataError(f"{where}: label {index} is out of range for {len(names)} classes "
                        f"(0..{len(names) - 1}); set num_classes or check the file")
    return index


def _csv_rows(path: str, header: bool, label_column: str, text_column: str) -> Iterable[tuple[int, str, str]]:
    with open_binary(path) as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}: line {line} is not valid UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: list[str] = []
    if header:
        columns = [c.strip() for c in next(reader, [])]

    def position(name: str) -> int:
        if name.isdigit():
            return int(name)
        if name not in columns:
            raise DataError(f"{path}: no column {name!r} (columns: {', '.join(columns) or 'none; header = false'})")
        return columns.index(name)

    label_at, text_at = position(label_column), position(text_column)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if max(label_at, text_at) >= len(row):
            raise DataError(f"{path}: line {line}: {len(row)} columns, need column {max(label_at, text_at)} "
                            f"(label column {label_column}, text column {text_column})")
        yield line, row[label_at], row[text_at]


def read_examples(path: str | os.PathLike, names: Sequence[str], fmt: str = "auto", label_column: str = "0",
                  text_column: str = "1", header: bool = False, lowercase: bool = True) -> Examples:
    """Read labelled sentences; DataError names the file and line of a malformed one.

    sst: ``LABEL text`` per line; tsv: ``label<TAB>text``; csv: ``label_column`` / ``text_column``
    are 0-based indices or header names. Labels are indices into ``names`` or the names themselves.
    """
    path = str(path)
    fmt = file_format(path, fmt)
    rows: list[tuple[int, str, str]] = []
    if fmt == "csv":
        rows = list(_csv_rows(path, header, label_column, text_column))
    else:
        for number, line in enumerate(read_lines(path), 1):
            if not line.strip() or (header and number == 1):
                continue
            if fmt == "tsv":
                label, tab, text = line.partition("\t")
                if not tab:
                    raise DataError(f"{path}: line {number}: expected label<TAB>text, found no tab")
            else:
                label, _, text = line.strip().partition(" ")
                if not label.lstrip("-").isdigit():
                    raise DataError(f"{path}: line {number}: expected 'LABEL text' with an integer label "
                                    f"(SST format), got {line[:40]!r}; for other files use format tsv or csv")
            rows.append((number, label, text))
    examples = Examples([], [], path)
    for number, label, text in rows:
        where = f"{path}: line {number}"
        index = _label_index(label, names, where)
        tokens = tokenize(text, lowercase)
        if not tokens:
            raise DataError(f"{where}: the text is empty")
        examples.tokens.append(tokens)
        examples.labels.append(index)
        examples.lines.append(number)
    if not examples.labels:
        raise DataError(f"{path}: no labelled sentences")
    return examples


# --- vocabulary ----------------------------------------------------------------------------------

def build_words(tokens: Iterable[list[str]], min_count: int = 1, max_vocab: int = 0,
                source: str = "training data") -> list[str]:
    """The id -> word list: ``<pad>``, ``<unk>``, then the training words (most frequent first)."""
    vocab = Vocab.build(tokens, min_count=min_count, max_vocab=max_vocab or None, source=source)
    return [PAD_WORD, UNK_WORD, *(w for w in vocab.words if w not in (PAD_WORD, UNK_WORD))]


def extend_words(words: list[str], vector_words: Sequence[str], lowercase: bool = True, limit: int = 0) -> list[str]:
    """``words`` followed by every word of the pretrained vectors that is not among them yet.

    Words seen only in dev, test or at prediction time then get their pretrained vector instead of
    UNK (Kim 2014 keeps every word that has a pretrained vector). Training never updates these rows
    (they get no gradient, and Adam moves a parameter only by its gradient), so they stay where the
    pretraining put them. With ``lowercase`` input, vector words with capitals are skipped (no
    token can match them). ``limit`` > 0 adds at most that many (the first ones: vector files list
    the frequent words first), which keeps a model over e.g. GloVe's 2.2M words small.
    """
    seen = set(words)
    extra = list(dict.fromkeys(w for w in vector_words if w not in seen and (not lowercase or w == w.lower())))
    return [*words, *(extra[:limit] if limit > 0 else extra)]


def encode(tokens: Sequence[str], index: dict[str, int]) -> list[int]:
    """Word ids of one sentence, unknown words as UNK."""
    get = index.get
    return [get(w, UNK) for w in tokens]


def pad_batch(ids: Sequence[Sequence[int]], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (batch, time) padded with PAD, lengths (batch,)) of a list of id lists."""
    return pad_ids(ids, device, PAD)


# --- pretrained vectors --------------------------------------------------------------------------

@dataclass
class Coverage:
    """How much of the vocabulary (types) and of the training tokens the pretrained vectors cover."""

    found: int
    words: int
    found_tokens: int
    tokens: int

    @property
    def types(self) -> float:
        return self.found / max(1, self.words)

    @property
    def token_share(self) -> float:
        return self.found_tokens / max(1, self.tokens)

    def __str__(self) -> str:
        return (f"pretrained vectors cover {self.found}/{self.words} words ({100 * self.types:.1f}%), "
                f"{100 * self.token_share:.1f}% of the training tokens")


def read_glove_text(path: str | os.PathLike, wanted: set[str] | None = None) -> tuple[list[str], np.ndarray]:
    """A GloVe text file (``word v1 ... vD`` per line, no header), only the ``wanted`` words (exact or
    lowercased) if given."""
    words, matrix, _ = read_vectors(path, "text", keep=_wanted(wanted))
    return words, matrix


def load_vectors(spec: str, wanted: set[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(words, (N, D) matrix) from ``default`` (the shipped vectors), a word2vec text/binary file,
    a native seqlab directory or a headerless GloVe text file; only the ``wanted`` words (exact or
    lowercased) if given, except from the default vectors."""
    if spec == "default":
        kv = load_default_vectors()
        return kv.words, kv.vectors.numpy()
    path = Path(spec)
    if not path.exists():
        raise DataError(f"{path}: no such vectors file or directory")
    # a file whose name says neither word2vec text nor binary is text: word2vec, or GloVe without a header
    fmt = "text" if path.is_file() and format_of(path) == "native" else None
    words, matrix, _ = read_vectors(path, fmt, keep=_wanted(wanted))
    return words, matrix


def _wanted(words: set[str] | None) -> Callable[[str], bool] | None:
    """Accepts a vectors word when it or its lowercase form is in ``words`` (every word when None)."""
    return None if words is None else lambda word: word in words or word.lower() in words


def align_vectors(words: Sequence[str], counts: dict[str, int], vectors: tuple[list[str], np.ndarray],
                  generator: torch.Generator, base: int | None = None) -> tuple[torch.Tensor, Coverage]:
    """An embedding matrix (V, D) for ``words``: pretrained rows where found (exact word, else
    lowercased), the others ~ N(0, std of the found rows); the padding row is zero. The coverage
    is reported over the first ``base`` words (default all: the training vocabulary)."""
    known, matrix = vectors
    lookup = {w: i for i, w in enumerate(known)}
    rows = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
    found_at = []
    for i, word in enumerate(words):
        if i in (PAD, UNK):
            continue
        j = lookup.get(word, lookup.get(word.lower()))
        if j is not None:
            found_at.append((i, j))
    std = float(rows[[j for _, j in found_at]].std()) if len(found_at) > 1 else 0.1
    out = torch.randn(len(words), rows.shape[1], generator=generator) * std
    if found_at:
        index, source = zip(*found_at, strict=True)
        out[list(index)] = rows[list(source)]
    out[PAD] = 0.0
    base = len(words) if base is None else base
    found_words = {words[i] for i, _ in found_at if i < base}
    coverage = Coverage(len(found_words), base - 2, sum(c for w, c in counts.items() if w in found_words),
                        sum(counts.values()))
    return out, coverage
