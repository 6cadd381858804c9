"""The one-pass C reader (seqlab.text.scan_native via seqlab.text.encode.read_corpus) against the two
Python passes it replaces (Vocab.build, then EncodedCorpus.encode over the corpus's sentences)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seqlab.text.corpus as corpus_module
from seqlab.errors import DataError
from seqlab.text import scan_native
from seqlab.text.corpus import MAX_TOKEN_CHARS, Corpus
from seqlab.text.encode import read_corpus
from seqlab.text.vocab import EncodedCorpus, Vocab

pytestmark = pytest.mark.skipif(not scan_native.native_available()[0], reason="no C compiler for the kernel")

# pieces the generated corpora are made of: words, ASCII and Unicode whitespace, line ends of three
# kinds, punctuation, a capital sigma (its lower case depends on what follows), multi-byte letters
PIECES = ["the", "cat", "sat", "Cat", "ΣΑΣ", "naïve", "über", "x", "don't", "a.b", "(", ")", ",", "__", "日本",
          " ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2003",
          "\u2028", "\u3000", "\u200b"]


def two_passes(corpus: Corpus, min_count: int, max_vocab: int, vocab: Vocab | None = None):
    vocab = vocab or Vocab.build(corpus, min_count, max_vocab or None, source=corpus.path)
    return vocab, EncodedCorpus.encode(corpus, vocab)


def assert_same(got, expected) -> None:
    (vocab, data), (ref_vocab, ref_data) = got, expected
    assert vocab.words == ref_vocab.words
    assert vocab.counts.tolist() == ref_vocab.counts.tolist() and vocab.total_words == ref_vocab.total_words
    assert np.asarray(data.ids).tolist() == np.asarray(ref_data.ids).tolist()
    assert np.asarray(data.starts).tolist() == np.asarray(ref_data.starts).tolist()
    assert data.raw_words == ref_data.raw_words


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=80), block=st.sampled_from([3, 7, 64, 1 << 20]),
       lowercase=st.booleans(), tokenize=st.sampled_from(["whitespace", "simple"]),
       max_sentence=st.sampled_from([1, 2, 3, 10_000]), min_count=st.sampled_from([1, 2]))
def test_one_pass_equals_the_two_python_passes(tmp_path, monkeypatch, pieces, block, lowercase, tokenize,
                                               max_sentence, min_count):
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", block)
    path = tmp_path / "c.txt"
    path.write_bytes("".join(pieces).encode("utf-8"))
    with Corpus(str(path), lowercase, max_sentence, tokenize) as corpus:
        try:
            expected = two_passes(corpus, min_count, 0)
        except DataError as exc:
            with pytest.raises(DataError) as caught:
                read_corpus(corpus, min_count, 0, quiet=True)
            assert str(caught.value) == str(exc)
            return
        assert_same(read_corpus(corpus, min_count, 0, quiet=True), expected)


@pytest.mark.parametrize("block", [5, 1 << 20])
def test_pruning_ties_max_vocab_and_sentences_left_empty(tmp_path, monkeypatch, block):
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", block)
    path = tmp_path / "c.txt"
    path.write_text("b a c b a\nrare words only\n\nc c a b\nd\n" * 3 + "solo\n", encoding="utf-8")
    with Corpus(str(path), max_sentence_length=2) as corpus:
        for min_count, max_vocab in [(1, 0), (2, 0), (4, 0), (1, 2), (2, 3)]:
            assert_same(read_corpus(corpus, min_count, max_vocab, quiet=True), two_passes(corpus, min_count, max_vocab))
        vocab, data = read_corpus(corpus, 4, 0, quiet=True)
        assert vocab.words == ["b", "a", "c"]  # 6 b, 6 a, 9 c: c first, then b and a in first-appearance order
        with pytest.raises(DataError, match="no word occurs at least 99 times"):
            read_corpus(corpus, 99, 0, quiet=True)


def test_a_given_vocabulary_encodes_with_its_ids(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("z y unknown\nnothing known here\ny y\n", encoding="utf-8")
    given_vocab = Vocab(["y", "z", "absent"], np.array([3, 1, 0]), 9)
    with Corpus(str(path)) as corpus:
        vocab, data = read_corpus(corpus, 5, 0, vocab=given_vocab, quiet=True)
        assert vocab is given_vocab
        assert_same((vocab, data), two_passes(corpus, 5, 0, given_vocab))
    assert np.asarray(data.ids).tolist() == [1, 0, 0, 0] and np.asarray(data.starts).tolist() == [0, 2, 4]
    assert data.raw_words == 8


def test_without_the_kernel_the_python_passes_give_the_same(tmp_path, monkeypatch, capsys):
    path = tmp_path / "c.txt"
    path.write_text("the cat sat\non the mat the end\n", encoding="utf-8")
    with Corpus(str(path)) as corpus:
        native = read_corpus(corpus, 1, 0, quiet=True)
        monkeypatch.setenv("SEQLAB_NATIVE", "0")
        assert_same(read_corpus(corpus, 1, 0, quiet=True), native)
    assert capsys.readouterr().err == ""


def test_long_tokens_are_cut_and_reported_once_with_their_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(corpus_module, "BLOCK_CHARS", 700)
    path = tmp_path / "c.txt"
    long_word = "é" * (MAX_TOKEN_CHARS + 5)  # two bytes a character: the cut is at a character
    path.write_text(f"a b\nc\n{long_word} a\n{long_word}x\n", encoding="utf-8")
    with Corpus(str(path)) as corpus:
        vocab, _ = read_corpus(corpus, 1, 0, quiet=True)
        read_corpus(corpus, 1, 0, quiet=True)
    assert "é" * MAX_TOKEN_CHARS in vocab.words and vocab.counts[vocab.index["é" * MAX_TOKEN_CHARS]] == 2
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "2 tokens longer than 1,000 characters" in err and "first on line 3" in err


@pytest.mark.parametrize(("content", "message"), [
    (b"   \n\t\n", "the corpus is empty"),
    (b"ok\nfine \x00 here\n", "line 2 contains a NUL byte"),
    (b"ok\nok\n\xff\xfe\n", r"line 3: not valid UTF-8"),
])
def test_bad_corpora_are_one_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with Corpus(str(path)) as corpus, pytest.raises(DataError, match=message) as caught:
        read_corpus(corpus, 1, 0, quiet=True)
    assert str(path) in str(caught.value)


def test_a_pipe_is_read_once(tmp_path):
    import os
    import threading

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    text = "one two two\nthree\n" * 1000

    def write() -> None:
        with open(fifo, "w", encoding="utf-8") as fh:
            fh.write(text)

    writer = threading.Thread(target=write)
    writer.start()
    with Corpus(str(fifo)) as corpus:
        vocab, data = read_corpus(corpus, 1, 0, quiet=True)
    writer.join()
    assert vocab.words == ["two", "one", "three"] and vocab.counts.tolist() == [2000, 1000, 1000]
    assert len(data.ids) == 4000 and len(data.starts) == 2001
