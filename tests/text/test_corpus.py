"""Corpus streaming: the same sentences from plain and compressed files, blocks that cut tokens,
long-sentence splitting, and a DataError naming the file for every bad input."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import pytest

from seqlab.errors import DataError
from seqlab.text import corpus as corpus_module
from seqlab.text.corpus import Corpus, iter_sentences

TEXT = (
    "The quick brown fox jumps over the lazy dog .\n"
    "\n"
    "  A second   line\twith tabs and  extra spaces  \n"
    "internationalisation antidisestablishmentarianism a b\n"
    "\n"
    "\n"
    "Zürich Ünïcode naïve café\n"
    "last line without a newline"
)
EXPECTED = [
    ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "."],
    ["A", "second", "line", "with", "tabs", "and", "extra", "spaces"],
    ["internationalisation", "antidisestablishmentarianism", "a", "b"],
    ["Zürich", "Ünïcode", "naïve", "café"],
    ["last", "line", "without", "a", "newline"],
]
COMPRESS = {"": lambda b: b, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    """Write ``text`` (UTF-8) to ``tmp_path/name``, compressed according to its suffix."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    path = tmp_path / name
    path.write_bytes(COMPRESS.get(path.suffix, COMPRESS[""])(data))
    return path


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2", ".xz"])
def test_plain_and_compressed_files_give_the_same_sentences(tmp_path, suffix):
    path = write(tmp_path, "corpus.txt" + suffix, TEXT)
    assert list(iter_sentences(path)) == EXPECTED
    corpus = Corpus(str(path))
    assert list(corpus) == EXPECTED
    assert list(corpus) == EXPECTED  # re-iterable: a second pass reads the file again


def test_windows_line_endings_end_sentences(tmp_path):
    path = write(tmp_path, "crlf.txt", "one two\r\nthree\r\n\r\nfour five six\r\n")
    assert list(iter_sentences(path)) == [["one", "two"], ["three"], ["four", "five", "six"]]


@pytest.mark.parametrize("suffix", ["", ".xz"])
def test_text8_style_single_line_cut_into_tiny_blocks(tmp_path, monkeypatch, suffix):
    # 7-character blocks cut most tokens in two (and the long ones in several pieces)
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", 7)
    words = ("anarchism originated as a term of abuse first used against early working class radicals including "
             "the diggers of the english revolution x supercalifragilisticexpialidocious and the sans culottes").split()
    text = " " + " ".join(words)  # text8 starts with a space and has no newline at all
    path = write(tmp_path, "text8" + suffix, text)
    assert list(iter_sentences(path)) == [words]
    # and cut into sentences of at most 10 words: 10 + 10 + 7
    assert list(iter_sentences(path, max_sentence_length=10)) == [words[:10], words[10:20], words[20:]]


def test_tiny_blocks_read_a_multi_line_file_like_whole_lines(tmp_path, monkeypatch):
    path = write(tmp_path, "corpus.txt", TEXT)
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", 7)
    assert list(iter_sentences(path)) == EXPECTED
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", 1)
    assert list(iter_sentences(path)) == EXPECTED


def test_max_sentence_length_splits_long_lines_only(tmp_path):
    path = write(tmp_path, "long.txt", "1 2 3 4 5 6 7 8 9 10\na b c d e f g h\nshort\n")
    assert list(iter_sentences(path, max_sentence_length=4)) == [
        ["1", "2", "3", "4"], ["5", "6", "7", "8"], ["9", "10"],  # 10 tokens: 4 + 4 + 2
        ["a", "b", "c", "d"], ["e", "f", "g", "h"],  # exactly 8: no empty third piece
        ["short"],
    ]
    tokens = "1 2 3 4 5 6 7 8 9 10 a b c d e f g h short".split()
    assert list(Corpus(str(path), max_sentence_length=1)) == [[t] for t in tokens]


def test_max_sentence_length_must_be_positive(tmp_path):
    path = write(tmp_path, "c.txt", "a b\n")
    with pytest.raises(DataError, match="max_sentence_length"):
        Corpus(str(path), max_sentence_length=0)


def test_lowercase(tmp_path):
    path = write(tmp_path, "case.txt.gz", "The CAT sat\nZÜRICH Ünïcode ÉCOLE\n")
    assert list(iter_sentences(path, lowercase=True)) == [["the", "cat", "sat"], ["zürich", "ünïcode", "école"]]
    assert list(Corpus(str(path), lowercase=True)) == [["the", "cat", "sat"], ["zürich", "ünïcode", "école"]]
    assert list(iter_sentences(path)) == [["The", "CAT", "sat"], ["ZÜRICH", "Ünïcode", "ÉCOLE"]]


def test_blank_and_whitespace_lines_yield_nothing(tmp_path):
    path = write(tmp_path, "blank.txt", "\n\n   \n\t\nalpha\n \n\nbeta gamma\n\n")
    assert list(iter_sentences(path)) == [["alpha"], ["beta", "gamma"]]


# ------------------------------------------------------------------------------------ errors
def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(DataError, match="nope.txt: no such file"):
        Corpus(str(path))
    with pytest.raises(DataError, match="nope.txt: no such file"):
        list(iter_sentences(path))


def test_directory(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        Corpus(str(tmp_path))
    with pytest.raises(DataError, match=f"{tmp_path.name}: is a directory"):
        list(iter_sentences(tmp_path))


@pytest.mark.parametrize("name,text", [("empty.txt", ""), ("spaces.txt", "  \n\n\t \n"), ("empty.txt.gz", ""),
                                       ("spaces.txt.xz", "\n \n")])
def test_empty_or_whitespace_only_file(tmp_path, name, text):
    path = write(tmp_path, name, text)
    with pytest.raises(DataError, match=rf"{name}: the corpus is empty"):
        list(iter_sentences(path))


def test_invalid_utf8_names_file(tmp_path):
    path = write(tmp_path, "latin1.txt", "caf\xe9 au lait\nsecond line\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.txt: line 1: not valid UTF-8"):
        list(iter_sentences(path))


def test_invalid_utf8_names_the_line_of_the_bad_byte(tmp_path):
    path = write(tmp_path, "bad.txt", b"fine line one\nfine line two\nbad \xff byte\nline four\n")
    with pytest.raises(DataError, match=r"bad\.txt: line 3: not valid UTF-8"):
        list(iter_sentences(path))


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_corrupt_compressed_file(tmp_path, suffix):
    path = tmp_path / ("corpus.txt" + suffix)
    path.write_bytes(b"this is plain text, not " + suffix.encode() + b" data\n")
    with pytest.raises(DataError, match=rf"corpus\.txt\{suffix}: cannot read"):
        list(iter_sentences(path))


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_truncated_compressed_file(tmp_path, suffix):
    path = tmp_path / ("corpus.txt" + suffix)
    path.write_bytes(COMPRESS[suffix](("word " * 2000).encode())[:-12])
    with pytest.raises(DataError, match="cannot read"):
        list(iter_sentences(path))


def test_simple_tokenize_splits_punctuation_off_words(tmp_path):
    from seqlab.text.corpus import Corpus

    path = tmp_path / "raw.txt"
    path.write_text('"We\'re the force." Bora, O\'Brien (again)!\nplain words\n', encoding="utf-8")
    assert list(Corpus(str(path), tokenize="simple")) == [
        ['"', "We're", "the", "force", ".", '"', "Bora", ",", "O'Brien", "(", "again", ")", "!"], ["plain", "words"]]
    assert list(Corpus(str(path)))[0][:3] == ['"We\'re', "the", 'force."']  # whitespace: word2vec.c's split
    with pytest.raises(DataError, match="tokenize must be whitespace or simple"):
        Corpus(str(path), tokenize="spacy")
