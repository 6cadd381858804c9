"""Co-occurrence counts against a literal Python transcription of Stanford GloVe's cooccur.c loop:
distance weighting, window edges, line ends, out-of-vocabulary tokens and chunk boundaries."""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab.embeddings import cooccur_native
from seqlab.embeddings.cooccur_native import count_pairs_native, native_available
from seqlab.embeddings.cooccurrence import Cooccurrence, _merge, count_encoded_pairs, count_pairs
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.glove import GloveConfig, count_cooccurrences
from seqlab.errors import ConfigError, DataError
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


def torch_merge(runs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """What the native path did before it spilled: the runs merged in memory by torch (index_add_ in run order)."""
    return _merge([torch.from_numpy(run["key"].copy()) for run in runs],
                  [torch.from_numpy(run["sum"].copy()) for run in runs])


@pytest.fixture
def recorded_runs(monkeypatch) -> list[np.ndarray]:
    """Copies of the runs that count_pairs_native hands to merge_runs (none: it counted in one run)."""
    runs: list[np.ndarray] = []
    original = cooccur_native.merge_runs

    def recording(given, *args, **kwargs):
        runs.extend(np.array(run) for run in given)
        return original(given, *args, **kwargs)

    monkeypatch.setattr(cooccur_native, "merge_runs", recording)
    return runs


@needs_native
@pytest.mark.parametrize("capacity", [1 << 10, 1 << 20])  # 1024 slots: a run every few hundred positions
def test_native_counts_on_a_real_corpus_in_many_runs_equal_the_torch_path(capacity, recorded_runs):
    path = gensim_test_data("lee_background.cor")
    lines = list(Corpus(str(path), lowercase=True))
    vocab = Vocab.build(lines, min_count=2)
    data = encoded(lines, vocab)
    keys, sums = (torch.from_numpy(a) for a in count_pairs_native(data, len(vocab), 10, True, capacity=capacity))
    assert (len(recorded_runs) > 50) == (capacity == 1 << 10)
    assert all(bool(np.all(np.diff(run["key"]) > 0)) for run in recorded_runs)  # each run sorted, each key once
    torch_keys, torch_sums = count_encoded_pairs(data, len(vocab), 10, True, chunk_tokens=4096)
    assert torch.equal(keys, torch_keys)
    torch.testing.assert_close(sums, torch_sums, rtol=1e-12, atol=0)
    if recorded_runs:  # merged from files, bit for bit what torch made of the same runs in memory
        merged_keys, merged_sums = torch_merge(recorded_runs)
        assert torch.equal(keys, merged_keys) and torch.equal(sums, merged_sums)
    first = lines[:40]
    sub = Vocab.build(first, min_count=2)
    sub_keys, sub_sums = count_encoded_pairs(encoded(first, sub), len(sub), 10, True, native=True)
    np.testing.assert_allclose(as_cooc(sub_keys, sub_sums, sub).dense().numpy(), cooccur_c(first, sub.index, 10, True),
                               rtol=1e-12)


def random_corpus(seed: int = 0, words: int = 300, lines: int = 400) -> EncodedCorpus:
    """Lines of 1-30 ids drawn from a skewed distribution over ``words`` words."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 31, lines)
    ids = np.minimum(rng.zipf(1.3, lengths.sum()) - 1, words - 1).astype(np.int32)
    ids[: words] = np.arange(words)  # every word occurs
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return EncodedCorpus(ids, starts, int(lengths.sum()))


TINY = 1e-6  # GB, about 1 KB: the smallest table (1,024 slots), a run every few hundred pairs


@needs_native
@pytest.mark.parametrize("window,distance_weighting", [(5, False), (2, True), (5, True)])
def test_spilled_runs_equal_one_run_and_the_torch_path(window, distance_weighting, recorded_runs, monkeypatch):
    """With the weights 1 and 1/2 every sum is exact whatever the order, so spilled runs, one run and the
    torch path agree bit for bit; with 1/3 and 1/5 they agree to the last bits of the addition order,
    and bit for bit with torch's merge of the same runs."""
    data = random_corpus()
    monkeypatch.setattr(cooccur_native, "FIRST_CAPACITY", 1 << 10)  # grow, then spill
    whole_keys, whole_sums = count_encoded_pairs(data, 300, window, distance_weighting, native=True)
    assert recorded_runs == []  # 4 GB: one run, merged by nobody
    keys, sums = count_encoded_pairs(data, 300, window, distance_weighting, native=True, memory=TINY)
    assert len(recorded_runs) >= 5 and keys.dtype == torch.int64 and sums.dtype == torch.float64
    torch_keys, torch_sums = count_encoded_pairs(data, 300, window, distance_weighting, chunk_tokens=1000)
    assert torch.equal(keys, whole_keys) and torch.equal(keys, torch_keys)
    merged_keys, merged_sums = torch_merge(recorded_runs)
    assert torch.equal(keys, merged_keys) and torch.equal(sums, merged_sums)
    if window <= 2 or not distance_weighting:
        assert torch.equal(sums, whole_sums) and torch.equal(sums, torch_sums)
    else:
        torch.testing.assert_close(sums, whole_sums, rtol=1e-12, atol=0)
        torch.testing.assert_close(sums, torch_sums, rtol=1e-12, atol=0)


@pytest.fixture
def temporary_files(tmp_path, monkeypatch) -> tuple[Path, list[str]]:
    """A fresh TMPDIR, and the folder of each temporary file opened in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    opened: list[str] = []
    original = tempfile.TemporaryFile

    def recording(*args, **kwargs):
        opened.append(kwargs.get("dir"))
        return original(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", recording)
    return folder, opened


@needs_native
def test_runs_go_to_temporary_files_and_nothing_is_left(temporary_files, monkeypatch):
    folder, opened = temporary_files
    data = random_corpus(1)
    count_pairs_native(data, 300, 5)
    assert opened == []  # one run: no file
    keys, sums = count_pairs_native(data, 300, 5, memory=TINY)
    assert opened == [str(folder)]  # one file for all the runs, one after the other
    monkeypatch.setattr(cooccur_native, "MERGE_ITEMS", 100)  # the merged keys go to files too
    again = count_pairs_native(data, 300, 5, memory=TINY)
    assert opened == [str(folder)] * 4 and len(keys) > 100
    assert np.array_equal(again[0], keys) and np.array_equal(again[1], sums)
    assert again[0].flags.owndata and again[1].flags.owndata and not isinstance(again[0], np.memmap)
    assert list(folder.iterdir()) == []


@needs_native
def test_spilled_runs_are_mapped_from_the_file(monkeypatch):
    seen = []
    original = cooccur_native.merge_runs
    monkeypatch.setattr(cooccur_native, "merge_runs",
                        lambda runs, **kw: seen.extend(type(r.base) for r in runs) or original(runs, **kw))
    count_pairs_native(random_corpus(1), 300, 5, memory=TINY)
    assert len(seen) >= 5 and all(kind is np.memmap for kind in seen[:-1])  # the last run stays in memory


class FullDisk:
    """A temporary file on a disk that is full."""

    def __init__(self, *args, **kwargs):
        self.closed = False

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self):
        self.closed = True


@needs_native
def test_a_full_or_missing_tmpdir_is_a_data_error(tmp_path, monkeypatch):
    data = random_corpus(2)
    missing = tmp_path / "missing"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(DataError, match=f"temporary file in {re.escape(str(missing))} .*set TMPDIR to a roomier place"):
        count_pairs_native(data, 300, 5, memory=TINY)
    count_pairs_native(data, 300, 5)  # one run: no file needed

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    files = []
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: files.append(FullDisk()) or files[-1])
    with pytest.raises(DataError, match=re.escape(f"temporary file in {tmp_path} (No space left on device)")):
        count_pairs_native(data, 300, 5, memory=TINY)
    assert len(files) == 1 and files[0].closed

    def unwritable(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "TemporaryFile", unwritable)
    with pytest.raises(DataError, match=re.escape(f"temporary file in {tmp_path} (Permission denied)")):
        cooccur_native.merge_runs([run_of([1, 2, 3], [1.0, 1.0, 1.0]), run_of([2, 4], [1.0, 1.0])], room=1)


def run_of(keys: list[int], sums: list[float]) -> np.ndarray:
    run = np.zeros(len(keys), dtype=cooccur_native.RUN)
    run["key"], run["sum"] = keys, sums
    return run


@needs_native
@pytest.mark.parametrize("room", [1, 2, 3, 1000])
def test_merge_of_hand_made_runs(room, tmp_path):
    # 1 + 1e16 is 1e16 in float64: the order of the sums shows (run 0 first, as index_add_ over the runs;
    # the other way round, -1e16 + 1e16 + 1 is 1)
    runs = [run_of([0, 5, 9], [1e16, 1.0, 0.5]), run_of([], []), run_of([5, 7], [1e16, 2.0]),
            run_of([0, 5, 12], [-1e16, -1e16, 3.0]), run_of([], [])]
    keys, sums = cooccur_native.merge_runs(runs, room=room, directory=str(tmp_path))
    assert keys.tolist() == [0, 5, 7, 9, 12] and sums.tolist() == [0.0, 0.0, 2.0, 0.5, 3.0]
    assert keys.dtype == np.int64 and sums.dtype == np.float64 and keys.flags.c_contiguous
    expected = torch_merge([r for r in runs if len(r)])
    assert torch.equal(torch.from_numpy(keys), expected[0]) and torch.equal(torch.from_numpy(sums), expected[1])
    one = run_of([3, 4, 8], [0.25, 1.0, 2.0])
    keys, sums = cooccur_native.merge_runs([one], room=room, directory=str(tmp_path))
    assert keys.tolist() == [3, 4, 8] and sums.tolist() == [0.25, 1.0, 2.0]
    empty = cooccur_native.merge_runs([run_of([], [])] * 3, room=room)
    assert empty[0].shape == (0,) and empty[1].shape == (0,)
    assert cooccur_native.merge_runs([], room=room)[0].shape == (0,)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="contiguous array"):
        cooccur_native.merge_runs([np.arange(3)])


@needs_native
def test_merge_of_thousands_of_runs():
    rng = np.random.default_rng(3)
    runs = [np.unique(rng.integers(0, 5000, rng.integers(0, 8))) for _ in range(3000)]
    runs = [run_of(list(r), list(rng.random(len(r)))) for r in runs]
    keys, sums = cooccur_native.merge_runs(runs, room=777)
    expected = torch_merge([r for r in runs if len(r)])
    assert torch.equal(torch.from_numpy(keys), expected[0]) and torch.equal(torch.from_numpy(sums), expected[1])


def test_the_memory_limit_sizes_the_table_and_chunks():
    most, chunk = cooccur_native.plan(4.0, 100_000, 10**9, 15)
    assert most == 1 << 27 and chunk == cooccur_native.CHUNK  # 2 GiB of table and 1.4 GiB for its run
    assert most * cooccur_native.SLOT_BYTES + chunk * cooccur_native.POSITION_BYTES <= 4 << 30
    assert cooccur_native.plan(4.0, 100, 10**9, 15)[0] == 1 << 13  # 5,050 pairs at most
    assert cooccur_native.plan(4.0, 100_000, 1000, 15)[0] == 1 << 15  # 15,000 pairs at most
    most, chunk = cooccur_native.plan(0.01, 100_000, 10**9, 15)
    assert most == 1 << 18 and chunk == (0.01 * (1 << 30)) // 8 // cooccur_native.POSITION_BYTES
    assert cooccur_native.plan(TINY, 100_000, 10**9, 15) == (1 << 10, 1 << 12)
    assert cooccur_native.plan(TINY, 100_000, 10**9, 1000)[0] == 1 << 12  # room for a few windows


@pytest.mark.parametrize("memory", [0.0, -1.0, float("nan"), float("inf")])
def test_memory_must_be_a_positive_number(memory):
    with pytest.raises(ConfigError, match="memory must be"):
        GloveConfig(memory=memory).validate()
    assert "memory" not in GloveConfig().count_settings()  # the same matrix whatever the limit


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
