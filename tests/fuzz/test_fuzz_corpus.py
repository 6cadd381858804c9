"""Fuzzing the corpus readers: :func:`iter_sentences`, :class:`Corpus`, ``Vocab.build`` and the reading
half of the word2vec and GloVe entries (vocabulary, encoded corpus, tables, co-occurrence counts; never
training), on random bytes, every encoding and line end, NUL bytes, very long lines, and compressed
files whole, truncated or not compressed at all.

A file that decodes is checked against a reference reading of the same text (universal line ends,
``str.split`` tokens cut at ``MAX_TOKEN_CHARS``, sentences cut at ``max_sentence_length``), with the
reader's block size shrunk so that tokens, line ends and multi-byte characters straddle blocks.
"""

from __future__ import annotations

import contextlib
import gzip
import lzma
import os
import threading
from collections import Counter
from unittest import mock

import numpy as np
import pytest
from fuzz_inputs import FUZZ, FUZZ_SLOW, check_refusal, hostile_bytes, stored, write
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.embeddings.glove import GloveConfig, count_cooccurrences
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig
from seqlab.errors import DataError, SeqlabError
from seqlab.text import corpus as corpus_module
from seqlab.text.corpus import MAX_TOKEN_CHARS, Corpus, iter_sentences
from seqlab.text.vocab import EncodedCorpus, Vocab

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on two busy cores: one thread is faster
BLOCKS = st.sampled_from([corpus_module.BLOCK_CHARS, 1, 2, 3, 7, 64, 4096])
NEWLINE = b"\n"
LENGTHS = st.one_of(st.just(10_000), st.integers(1, 6))


def reference(text: str, lowercase: bool, max_sentence_length: int) -> list[list[str]]:
    """The sentences of ``text`` as the reader must give them, read in one piece."""
    if lowercase:
        text = text.lower()
    sentences = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        tokens = [token[:MAX_TOKEN_CHARS] for token in line.split()]
        sentences += [tokens[i:i + max_sentence_length] for i in range(0, len(tokens), max_sentence_length)]
    return sentences


def expected_refusals(raw: bytes | None) -> list[str] | None:
    """The messages (any one of them) the reader must refuse ``raw`` (the decompressed bytes) with, or None
    when it must read it. ``raw`` None (a damaged compressed file) must be refused, whatever the words."""
    if raw is None:
        return [""]
    refusals = []
    text = raw.decode("utf-8", "replace")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        refusals.append(f"line {raw[:exc.start].count(NEWLINE) + 1}: not valid UTF-8")
        text = raw[:exc.start].decode("utf-8")  # a NUL after the bad byte may be met first, in the same read
    if "\x00" in text:
        before = text[:text.index("\x00")].replace("\r\n", "\n").replace("\r", "\n")
        refusals.append(f"line {before.count(chr(10)) + 1} contains a NUL byte")
    if not refusals and not text.split():
        refusals.append("the corpus is empty")
    return refusals or None


def refusal(exc: Exception) -> SeqlabError:
    """``exc`` when it is a SeqlabError; any other exception is raised again, failing the test."""
    if isinstance(exc, SeqlabError):
        return exc
    raise exc


def check_read(read, path, raw: bytes | None, lowercase: bool, max_sentence_length: int):
    """``read()`` gives the reference sentences of ``raw``, or the refusal it must give."""
    must_refuse = expected_refusals(raw)
    try:
        sentences = read()
    except Exception as exc:
        check_refusal(refusal(exc), path)
        assert must_refuse is not None, f"refused a readable file: {exc}"
        assert any(message in str(exc) for message in must_refuse), (str(exc), must_refuse)
        return None
    assert must_refuse is None, f"read a file it must refuse ({must_refuse}): {sentences[:3]}"
    assert sentences == reference(raw.decode("utf-8"), lowercase, max_sentence_length)
    return sentences


@settings(settings.get_profile(FUZZ))
@given(file=hostile_bytes().flatmap(stored), lowercase=st.booleans(), max_sentence_length=LENGTHS, block=BLOCKS)
def test_iter_sentences(folder, file, lowercase, max_sentence_length, block):
    suffix, data, raw = file
    path = write(folder, f"corpus{suffix}", data)
    with mock.patch.object(corpus_module, "BLOCK_CHARS", block):
        check_read(lambda: list(iter_sentences(path, lowercase, max_sentence_length)), path, raw, lowercase,
                   max_sentence_length)


@settings(settings.get_profile(FUZZ))
@given(file=hostile_bytes().flatmap(stored), lowercase=st.booleans(), max_sentence_length=LENGTHS, block=BLOCKS,
       min_count=st.integers(1, 3), max_vocab=st.sampled_from([None, 0, 1, 5]))
def test_corpus_passes_and_vocabulary(folder, file, lowercase, max_sentence_length, block, min_count, max_vocab):
    """Two passes of a Corpus read the same sentences; the vocabulary and the encoded corpus match them."""
    suffix, data, raw = file
    path = write(folder, f"corpus{suffix}", data)
    with mock.patch.object(corpus_module, "BLOCK_CHARS", block), Corpus(str(path), lowercase,
                                                                        max_sentence_length) as corpus:
        first = check_read(lambda: list(corpus), path, raw, lowercase, max_sentence_length)
        if first is None:
            return
        assert list(corpus) == first
        counts = Counter(token for sentence in first for token in sentence)
        kept = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: -wc[1])[:max_vocab or None]
        try:
            vocab = Vocab.build(corpus, min_count, max_vocab, source=str(path))
        except DataError as exc:
            check_refusal(exc, path)
            assert not kept
            return
        assert list(zip(vocab.words, vocab.counts.tolist(), strict=True)) == kept
        assert vocab.total_words == sum(counts.values())
        data = EncodedCorpus.encode(corpus, vocab)
        assert data.ids.tolist() == [vocab.index[w] for s in first for w in s if w in vocab.index]
        assert data.raw_words == vocab.total_words


@settings(settings.get_profile(FUZZ))
@given(file=hostile_bytes().flatmap(stored), lowercase=st.booleans(), min_count=st.integers(1, 3),
       loss=st.sampled_from(["ns", "hs"]), window=st.integers(1, 4))
def test_embedding_entries_read_the_corpus(folder, file, lowercase, min_count, loss, window):
    """What word2vec and GloVe do with a corpus before training: vocabulary, tables (noise distribution or
    Huffman tree), encoded corpus; the GloVe co-occurrence counts. Nothing is trained."""
    suffix, data, raw = file
    path = write(folder, f"corpus{suffix}", data)
    w2v = Word2VecConfig(loss=loss, dim=4, window=window, min_count=min_count, lowercase=lowercase)
    try:
        with Corpus(str(path), lowercase, w2v.max_sentence_length) as corpus:
            vocab = Vocab.build(corpus, min_count, None, source=str(path))
            model = Word2Vec(vocab, w2v, "cpu")
            encoded = EncodedCorpus.encode(corpus, model.vocab)
        assert model.w_in.shape == (len(vocab), 4) and int(encoded.ids.max(initial=0)) < len(vocab)
        glove = GloveConfig(dim=4, window=window, min_count=min_count, lowercase=lowercase)
        cooc = count_cooccurrences(path, glove, "cpu", quiet=True)
    except Exception as exc:
        check_refusal(refusal(exc), path)
        return
    assert cooc.words == vocab.words
    rows, cols, values = cooc.entries("cpu")
    assert bool((values > 0).all()) and np.isfinite(values.numpy()).all()
    assert len(rows) == 0 or max(int(rows.max()), int(cols.max())) < len(vocab)


@contextlib.contextmanager
def piped(data: bytes):
    """A path that reads ``data`` from a pipe (``/dev/fd/N``), written by a thread as it is read."""
    read, write_end = os.pipe()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), os.fdopen(write_end, "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield f"/dev/fd/{read}"
    finally:
        os.close(read)  # a reader that stopped early: the writer's next write fails, and it ends
        thread.join(timeout=10)


@settings(settings.get_profile(FUZZ_SLOW))
@given(data=hostile_bytes(), lowercase=st.booleans(), max_sentence_length=LENGTHS, block=BLOCKS)
def test_corpus_from_a_pipe(data, lowercase, max_sentence_length, block):
    """A piped corpus is copied during the first pass and read from the copy afterwards: the same sentences."""
    with piped(data) as path, mock.patch.object(corpus_module, "BLOCK_CHARS", block), \
            Corpus(path, lowercase, max_sentence_length) as corpus:
        first = check_read(lambda: list(corpus), path, data, lowercase, max_sentence_length)
        if first is not None:
            assert list(corpus) == first


# ------------------------------------------------------------ bugs this suite found (regressions)
@pytest.mark.parametrize("suffix", [".gz", ".xz"])
def test_truncated_compressed_corpus_with_bad_utf8_is_refused(tmp_path, suffix):
    packed = (gzip.compress if suffix == ".gz" else lzma.compress)(b"good words\n\xff bad line\n" * 10)
    path = write(tmp_path, f"corpus{suffix}", packed[:-8])
    with pytest.raises(DataError, match="corpus"):
        list(iter_sentences(path))


def test_lowercase_does_not_depend_on_block_boundaries(tmp_path):
    prefix = "a " * ((corpus_module.BLOCK_CHARS - 2) // 2)  # the first block ends just after the sigma
    path = write(tmp_path, "corpus.txt", (prefix + "\u0391\u03a3\u0392\n").encode())
    tokens = [token for sentence in iter_sentences(path, lowercase=True) for token in sentence]
    assert tokens[-1] == "\u0391\u03a3\u0392".lower() == "\u03b1\u03c3\u03b2"  # not \u03b1\u03c2\u03b2
