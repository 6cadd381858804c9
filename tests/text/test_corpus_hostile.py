"""Hostile corpora: NUL bytes (binary files, /dev/zero), tokens without end, and corpora on a pipe.

Each is either refused with one DataError naming the file and the line, or read correctly with a
bounded carry between blocks; a stream is copied during the first pass so that the second pass
(encoding after the vocabulary) sees the same sentences.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest

from seqlab.errors import DataError
from seqlab.text import corpus as corpus_module
from seqlab.text.corpus import MAX_TOKEN_CHARS, Corpus, corpus_name, is_stream, iter_sentences

LINES = [["the", "cat", "sat"], ["on", "the", "mat"], ["a", "dog", "barked"]]
TEXT = "".join(" ".join(line) + "\n" for line in LINES).encode()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------ NUL bytes
@pytest.mark.parametrize("block", [1 << 20, 5])
def test_a_nul_byte_is_refused_with_its_line(tmp_path, monkeypatch, block):
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", block)
    path = write(tmp_path, "binary.txt", b"ok line\nsecond line\nthird \x00\x00 cat\nmore\n")
    with pytest.raises(DataError, match=r"binary\.txt: line 3 contains a NUL byte; is this a text file\?"):
        list(iter_sentences(path))
    with pytest.raises(DataError, match="line 3 contains a NUL byte"):
        list(Corpus(str(path)))


def test_a_file_of_nul_bytes_is_not_a_corpus_of_words(tmp_path):
    path = write(tmp_path, "zeros.bin", bytes(4096))
    with pytest.raises(DataError, match=r"zeros\.bin: line 1 contains a NUL byte"):
        list(iter_sentences(path))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_ends_at_once():
    corpus = Corpus("/dev/zero")  # a character device: copied as it is read, so a pass must end
    with corpus, pytest.raises(DataError, match="/dev/zero: line 1 contains a NUL byte"):
        list(corpus)


# ----------------------------------------------------------------------------- endless tokens
def test_a_file_without_whitespace_is_one_token_cut_with_one_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", 4096)
    path = write(tmp_path, "blob.txt", b"x" * 300_000)  # 74 blocks: a carried-over token would be rescanned
    corpus = Corpus(str(path))
    assert list(corpus) == [["x" * MAX_TOKEN_CHARS]]
    assert list(corpus) == [["x" * MAX_TOKEN_CHARS]]
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one warning, from the first pass only
    assert f"blob.txt: 1 token longer than {MAX_TOKEN_CHARS:,} characters cut to their first" in err


def test_long_tokens_are_cut_and_counted_not_listed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", 700)
    long_a, long_b = "a" * 1500, "b" * (MAX_TOKEN_CHARS + 1)
    text = f"one two\nthree {long_a} four\n{long_b}\nfive {long_a}"
    path = write(tmp_path, "long.txt", text.encode())
    cut_a, cut_b = long_a[:MAX_TOKEN_CHARS], long_b[:MAX_TOKEN_CHARS]
    assert list(iter_sentences(path)) == [["one", "two"], ["three", cut_a, "four"], [cut_b], ["five", cut_a]]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "long.txt: 3 tokens longer than 1,000 characters" in err
    assert "(the first on line 2)" in err


def test_a_token_of_exactly_the_limit_is_kept_whole(tmp_path, capsys):
    token = "z" * MAX_TOKEN_CHARS
    path = write(tmp_path, "edge.txt", f"{token} end\n".encode())
    assert list(iter_sentences(path)) == [[token, "end"]]
    assert capsys.readouterr().err == ""


def test_the_carry_between_blocks_is_bounded():
    head, carry = corpus_module._cut_unfinished("words here " + "q" * 50_000)
    assert head == "words here " and carry == "q" * (MAX_TOKEN_CHARS + 1)
    assert corpus_module._cut_unfinished("ends with space ") == ("ends with space ", "")


def test_one_word_sentences_from_a_huge_line_stay_in_order(tmp_path):
    words = [f"w{i}" for i in range(20_000)]
    path = write(tmp_path, "line.txt", " ".join(words).encode())
    assert list(iter_sentences(path, max_sentence_length=1)) == [[w] for w in words]
    assert [len(s) for s in iter_sentences(path, max_sentence_length=7_000)] == [7_000, 7_000, 6_000]


# ------------------------------------------------------------------------------------ streams
def feed(fd: int, data: bytes) -> threading.Thread:
    def write_all() -> None:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=write_all, daemon=True)
    thread.start()
    return thread


def test_a_pipe_is_read_twice_through_a_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    read_end, write_end = os.pipe()
    thread = feed(write_end, TEXT * 3000)  # 84 kB: more than a pipe's buffer
    path = f"/dev/fd/{read_end}"
    assert is_stream(path) and corpus_name(path) == path
    with Corpus(path) as corpus:
        first = list(corpus)
        second = list(corpus)
    thread.join()
    os.close(read_end)
    assert first == second == LINES * 3000
    assert list(tmp_path.iterdir()) == []  # the copy is an unnamed file: nothing left behind


def test_a_fifo_is_read_twice_through_a_copy(tmp_path):
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as fh:  # blocks until the corpus opens the FIFO
            fh.write(TEXT)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    corpus = Corpus(str(fifo))
    assert list(corpus) == LINES
    assert list(corpus) == LINES
    corpus.close()
    thread.join()


def test_bad_utf8_on_a_pipe_names_its_line(tmp_path):
    read_end, write_end = os.pipe()
    thread = feed(write_end, b"good line\nalso good\nbad \xff here\n")
    try:
        with Corpus(f"/dev/fd/{read_end}") as corpus, pytest.raises(DataError, match=r"line 3: not valid UTF-8"):
            list(corpus)
    finally:
        thread.join()
        os.close(read_end)


def test_a_pipe_whose_first_pass_stopped_early_cannot_be_read_again(tmp_path):
    read_end, write_end = os.pipe()
    thread = feed(write_end, TEXT * 10)
    try:
        with Corpus(f"/dev/fd/{read_end}") as corpus:
            sentences = iter(corpus)
            assert next(sentences) == LINES[0]
            sentences.close()
            with pytest.raises(DataError, match="a pipe can be read only once"):
                list(corpus)
    finally:
        os.close(read_end)
        thread.join()


def test_a_full_disk_while_copying_a_pipe_is_one_error(tmp_path, monkeypatch):
    class Full:
        def write(self, data):
            raise OSError(28, "No space left on device")

        def flush(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kwargs: Full())
    read_end, write_end = os.pipe()
    thread = feed(write_end, TEXT)
    try:
        with Corpus(f"/dev/fd/{read_end}") as corpus, pytest.raises(
                DataError, match=r"cannot copy the piped corpus to a temporary file .*No space left on device"):
            list(corpus)
    finally:
        os.close(read_end)
        thread.join()
