"""Co-occurrence counts against a literal Python transcription of Stanford GloVe's cooccur.c loop:
distance weighting, window edges, line ends, out-of-vocabulary tokens and chunk boundaries."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import torch

from seqlab.embeddings import cooccur_native
from seqlab.embeddings.cooccur_native import count_pairs_native, native_available
from seqlab.embeddings.cooccurrence import Cooccurrence, count_encoded_pairs, count_pairs
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.glove import GloveConfig, count_cooccurrences
from seqlab.errors import DataError
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import EncodedCorpus, Vocab

TEXT = """\
a b c a b a d
b b a c e a a
x c c c a y b d a
d
a b
"""


def cooccur_c(lines: list[list[str]], index: dict[str, int], window: int, distance_weighting: bool) -> np.ndarray:
    """cooccur.c, token by token: skip out-of-vocabulary words, reset the history at each newline,
    add 1/(j - k) to (w1, w2) and (w2, w1) for each of the last ``window`` in-vocabulary words."""
    counts: dict[tuple[int, int], float] = defaultdict(float)
    for line in lines:
        history: list[int] = []
        for token in line:
            if token not in index:
                continue
            w2 = index[token]
            j = len(history)
            for k in range(j - 1, max(j - window, 0) - 1, -1):
                w1 = history[k]
                weight = 1.0 / (j - k) if distance_weighting else 1.0
                counts[w1, w2] += weight
                counts[w2, w1] += weight
            history.append(w2)
    matrix = np.zeros((len(index), len(index)))
    for (i, j), value in counts.items():
        matrix[i, j] = value
    return matrix


def encode(lines: list[list[str]], vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    ids, line_of = [], []
    for n, line in enumerate(lines):
        kept = [vocab.index[t] for t in line if t in vocab.index]
        ids += kept
        line_of += [n] * len(kept)
    return torch.tensor(ids), torch.tensor(line_of)


def as_cooc(keys: torch.Tensor, sums: torch.Tensor, vocab: Vocab) -> Cooccurrence:
    return Cooccurrence(vocab.words, vocab.counts, vocab.total_words, keys, sums, {})


@pytest.mark.parametrize("window", [1, 2, 3, 6, 20])
@pytest.mark.parametrize("chunk", [1, 2, 5, 1000])
@pytest.mark.parametrize("distance_weighting", [True, False])
def test_counts_equal_cooccur_c(window, chunk, distance_weighting):
    lines = [line.split() for line in TEXT.splitlines()]
    vocab = Vocab.build(lines, min_count=2)  # x and y are out of the vocabulary
    assert "x" not in vocab and "y" not in vocab
    ids, line_of = encode(lines, vocab)
    keys, sums = count_pairs(ids, line_of, len(vocab), window, distance_weighting, chunk_tokens=chunk)
    assert torch.all(keys[1:] > keys[:-1])  # sorted, each unordered pair once
    cooc = as_cooc(keys, sums, vocab)
    expected = cooccur_c(lines, vocab.index, window, distance_weighting)
    np.testing.assert_allclose(cooc.dense().numpy(), expected, rtol=1e-12, atol=0)
    assert cooc.nnz == int((expected != 0).sum())
    rows, cols, values = cooc.entries()
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == cooc.nnz and bool((values > 0).all())


def test_window_edges_by_hand():
    # one line "a b a": (a, b) at distance 1 twice, (a, a) at distance 2 (both orders on the diagonal)
    vocab = Vocab(["a", "b"], np.array([2, 1]), 3)
    ids, line_of = torch.tensor([0, 1, 0]), torch.tensor([0, 0, 0])
    dense = as_cooc(*count_pairs(ids, line_of, 2, window=2), vocab).dense()
    assert dense.tolist() == [[1.0, 2.0], [2.0, 0.0]]
    dense = as_cooc(*count_pairs(ids, line_of, 2, window=1), vocab).dense()  # a..a is out of reach
    assert dense.tolist() == [[0.0, 2.0], [2.0, 0.0]]
    dense = as_cooc(*count_pairs(ids, torch.tensor([0, 0, 1]), 2, window=2), vocab).dense()  # a line ends
    assert dense.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_real_corpus_with_small_chunks_and_merges():
    """The first 40 articles of gensim's Lee corpus, counted in chunks of 97 tokens (many merges)."""
    path = gensim_test_data("lee_background.cor")
    lines = list(Corpus(str(path), lowercase=True))[:40]
    vocab = Vocab.build(lines, min_count=2)
    ids, line_of = encode(lines, vocab)
    keys, sums = count_pairs(ids, line_of, len(vocab), window=10, chunk_tokens=97)
    expected = cooccur_c(lines, vocab.index, 10, True)
    np.testing.assert_allclose(as_cooc(keys, sums, vocab).dense().numpy(), expected, rtol=1e-12)


def test_count_from_file_and_save_load(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    cfg = GloveConfig(window=3, min_count=2)
    cooc = count_cooccurrences(corpus, cfg, "cpu", quiet=True)
    lines = [line.split() for line in TEXT.splitlines()]
    vocab = Vocab.build(lines, min_count=2)
    assert cooc.words == vocab.words
    np.testing.assert_allclose(cooc.dense().numpy(), cooccur_c(lines, vocab.index, 3, True), rtol=1e-12)
    assert cooc.settings["window"] == 3 and cooc.settings["corpus"] == str(corpus.resolve())

    cooc.save(tmp_path / "x.cooc")
    again = Cooccurrence.load(tmp_path / "x.cooc")
    assert again.words == cooc.words and torch.equal(again.keys, cooc.keys) and torch.equal(again.sums, cooc.sums)
    assert again.settings == cooc.settings

    torch.save({"kind": "seqlab.word2vec"}, tmp_path / "other.pt")
    with pytest.raises(DataError, match="other.pt: is a 'seqlab.word2vec' file, not a seqlab co-occurrence"):
        Cooccurrence.load(tmp_path / "other.pt")


# ------------------------------------------------------------------------------ the C kernel
NATIVE_OK, NATIVE_WHY = native_available()
needs_native = pytest.mark.skipif(not NATIVE_OK, reason=f"no C kernel here: {NATIVE_WHY}")


def encoded(lines: list[list[str]], vocab: Vocab) -> EncodedCorpus:
    """The lines as an EncodedCorpus (what the C kernel reads): a line without a known word is dropped."""
    sentences = [np.array([vocab.index[t] for t in line if t in vocab.index], dtype=np.int32) for line in lines]
    sentences = [s for s in sentences if len(s)]
    starts = np.concatenate([[0], np.cumsum([len(s) for s in sentences])]).astype(np.int64)
    return EncodedCorpus(np.concatenate(sentences), starts, sum(map(len, lines)))


@needs_native
@pytest.mark.parametrize("window", [1, 2, 3, 6, 20])
@pytest.mark.parametrize("distance_weighting", [True, False])
def test_native_counts_equal_cooccur_c(window, distance_weighting):
    lines = [line.split() for line in TEXT.splitlines()]
    vocab = Vocab.build(lines, min_count=2)
    data = encoded(lines, vocab)
    keys, sums = count_encoded_pairs(data, len(vocab), window, distance_weighting, native=True)
    assert torch.all(keys[1:] > keys[:-1])
    expected = cooccur_c(lines, vocab.index, window, distance_weighting)
    np.testing.assert_allclose(as_cooc(keys, sums, vocab).dense().numpy(), expected, rtol=1e-12, atol=0)


@needs_native
@pytest.mark.parametrize("capacity", [1 << 10, 1 << 20])  # 1024 slots: a run every few hundred positions
def test_native_counts_on_a_real_corpus_in_many_runs_equal_the_torch_path(capacity, monkeypatch):
    path = gensim_test_data("lee_background.cor")
    lines = list(Corpus(str(path), lowercase=True))
    vocab = Vocab.build(lines, min_count=2)
    data = encoded(lines, vocab)
    runs, _ = count_pairs_native(data, len(vocab), 10, True, capacity=capacity)
    assert (len(runs) > 50) == (capacity == 1 << 10)
    assert all(bool(np.all(np.diff(run) > 0)) for run in runs)  # each run sorted, each key once
    monkeypatch.setattr(cooccur_native, "capacity_for", lambda vocab_size: capacity)
    keys, sums = count_encoded_pairs(data, len(vocab), 10, True, native=True)
    torch_keys, torch_sums = count_encoded_pairs(data, len(vocab), 10, True, chunk_tokens=4096)
    assert torch.equal(keys, torch_keys)
    torch.testing.assert_close(sums, torch_sums, rtol=1e-12, atol=0)
    first = lines[:40]
    sub = Vocab.build(first, min_count=2)
    sub_keys, sub_sums = count_encoded_pairs(encoded(first, sub), len(sub), 10, True, native=True)
    np.testing.assert_allclose(as_cooc(sub_keys, sub_sums, sub).dense().numpy(), cooccur_c(first, sub.index, 10, True),
                               rtol=1e-12)


@needs_native
def test_count_cooccurrences_uses_the_kernel_on_the_cpu_unless_told(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    calls = []
    original = cooccur_native.count_pairs_native
    monkeypatch.setattr(cooccur_native, "count_pairs_native", lambda *a, **k: calls.append(1) or original(*a, **k))
    native = count_cooccurrences(corpus, GloveConfig(window=3, min_count=2), "cpu", quiet=True)
    assert calls == [1]
    plain = count_cooccurrences(corpus, GloveConfig(window=3, min_count=2, cpu_kernel="torch"), "cpu", quiet=True)
    assert calls == [1] and torch.equal(native.keys, plain.keys) and torch.allclose(native.sums, plain.sums)
