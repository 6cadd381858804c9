"""fastText (Bojanowski et al. 2017) in the word2vec trainer: n-gram hashes against gensim's, the C kernel
against a plain float64 reference of the semantics, both CPU paths learning, determinism, exact resume,
the vectors (out-of-vocabulary words, files, gensim), the command line, and a comparison with gensim's
FastText on the Lee corpus."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from gensim.models.fasttext import compute_ngrams_bytes, ft_hash_bytes, ft_ngram_hashes
from gensim.utils import simple_preprocess
from interrupt import interrupt_after
from word2vec_reference import reference

from seqlab.cli.main import main
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.fasttext_vectors import FastTextVectors
from seqlab.embeddings.huffman import build_huffman
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.nearest import FastTextIndex, VectorIndex
from seqlab.embeddings.sampling import NoiseSampler
from seqlab.embeddings.subwords import hash_bytes, ngram_hashes, ngrams_bytes, padded_rows, subword_rows
from seqlab.embeddings.vectors_io import convert_vectors, read_vectors
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig, train_word2vec
from seqlab.embeddings.word2vec_native import NativeTables, native_available, train_block
from seqlab.errors import ConfigError, DataError, UnknownWordError
from seqlab.io import load_checkpoint

LEE = gensim_test_data("lee_background.cor")
NATIVE_OK, NATIVE_WHY = native_available()
needs_kernel = pytest.mark.skipif(not NATIVE_OK, reason=f"the C kernel is unavailable here: {NATIVE_WHY}")
KERNELS = [pytest.param("native", marks=needs_kernel), "torch"]
WORDS = ["the", "a", "of", "ab", "", "x", "government", "café", "naïve", "straße", "日本語", "😀", "über-cool",
         "aaaaaa", "<>", "a>b", "Ωμέγα", "\u00e9\u0301", "e\u0301t\u00e9", "a\x80b", "ǅ"]


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


def small_config(**changes) -> Word2VecConfig:
    return dataclasses.replace(Word2VecConfig(model="fasttext-sg", dim=16, epochs=1, min_count=2, batch_size=256,
                                              lowercase=True, bucket=20_000), **changes)


# ---------------------------------------------------------------------------------------- n-grams
@pytest.mark.parametrize("min_n,max_n", [(3, 6), (1, 1), (2, 2), (1, 3), (4, 4), (3, 3), (2, 8), (1, 0), (3, 0)])
@pytest.mark.parametrize("bucket", [2_000_000, 7, 1])
def test_ngram_hashes_equal_gensims(min_n, max_n, bucket):
    for word in WORDS:
        assert ngrams_bytes(word, min_n, max_n) == compute_ngrams_bytes(word, min_n, max_n), word
        assert ngram_hashes(word, min_n, max_n, bucket) == ft_ngram_hashes(word, min_n, max_n, bucket), word


def test_hash_sign_extends_bytes_as_fasttext():
    for data in [b"", b"a", b"<the>", "ü".encode(), "日本".encode(), bytes(range(256))]:
        assert hash_bytes(data) == ft_hash_bytes(data)
    assert hash_bytes(b"a") == (2166136261 ^ 97) * 16777619 % 2**32  # FNV-1a by hand
    assert hash_bytes(b"\xc3") == (2166136261 ^ 0xFFFFFFC3) * 16777619 % 2**32  # (char) 0xc3 = -61


def test_ngrams_by_hand():
    assert ngrams_bytes("ab", 3, 3) == [b"<ab", b"ab>"]
    assert ngrams_bytes("ab", 1, 2) == [b"<a", b"a", b"ab", b"b", b"b>"]  # no lone < or >
    assert ngrams_bytes("é", 2, 3) == [b"<\xc3\xa9", b"<\xc3\xa9>", b"\xc3\xa9>"]  # whole characters
    assert ngrams_bytes("", 3, 6) == [] and ngrams_bytes("a", 3, 3) == [b"<a>"]


def test_subword_rows_csr():
    words, bucket = ["ab", "é", "aaaa", "x"], 11
    offsets, rows = subword_rows(words, 3, 4, bucket)
    assert offsets.dtype == rows.dtype == np.int64 and offsets.tolist()[0] == 0
    for i, word in enumerate(words):
        expected = [i] + [len(words) + hash_bytes(g) % bucket for g in ngrams_bytes(word, 3, 4)]
        assert rows[offsets[i]:offsets[i + 1]].tolist() == expected
    counts = np.diff(offsets)
    assert counts.tolist() == [1 + 3, 1 + 1, 1 + 4 + 3, 1 + 1]  # <ab ab> <ab> | <é> | <aa aaa aaa aa> ... | <x>
    aaaa = rows[offsets[2]:offsets[3]].tolist()
    assert aaaa.count(4 + hash_bytes(b"aaa") % bucket) == 2  # "aaa" twice in <aaaa>
    table, mask = padded_rows(offsets, rows)
    assert table.shape == mask.shape == (4, 8)  # "aaaa" has the most rows
    assert (mask.sum(1) == counts).all() and (table[mask > 0] == rows).all() and (table[mask == 0] == 0).all()


# ------------------------------------------------------------------------- the C kernel, exactly
V, D, ROWS, WIDTH, K = 10, 8, 9, 4, 3
COUNTS = np.array([50, 30, 20, 12, 9, 7, 5, 4, 3, 2], dtype=np.int64)
KERNEL_WORDS = ["the", "of", "café", "a", "naïve", "aaaa", "日本", "to", "x", "bridge"]
BUCKET = 7  # small: n-grams collide, and words share rows


def kernel_and_reference(sg, loss_kind, cbow_mean=True, words=KERNEL_WORDS, bucket=BUCKET, centre=None,
                         empty=0.3, alpha=(0.5, 0.1)):
    """Train one block with the C kernel and with the float64 reference (the same given noise words); returns
    (w_in before, kernel's (w_in, w_out, examples, loss, decisions), reference's (w_in, w_out, loss, decisions,
    examples)). ``centre`` (ROWS,) defaults to random words, ``empty`` is the share of empty context slots."""
    offsets, rows = subword_rows(words, 2, 3, bucket)
    rows_of = [rows[offsets[w]:offsets[w + 1]].tolist() for w in range(V)]
    gen = torch.Generator().manual_seed(0)
    w_in = torch.rand(V + bucket, D, generator=gen) - 0.5
    w_out = torch.rand(2 * V, D, generator=gen) - 0.5
    drawn = torch.randint(0, V, (ROWS,), generator=gen)
    centre = drawn if centre is None else centre
    context = torch.randint(0, V, (ROWS, WIDTH), generator=gen)
    context[torch.rand(ROWS, WIDTH, generator=gen) < empty] = -1
    context[2] = -1  # a row with no context word at all
    alpha = torch.linspace(*alpha, ROWS)  # large rates: every update matters to the next one
    tree = build_huffman(COUNTS)
    hs, ns = loss_kind != "ns", loss_kind != "hs"
    offset = V if ns else 0
    w_out = w_out[: offset + (V - 1 if hs else 0)].contiguous()
    tables, negs = NativeTables(), None
    if ns:
        sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
        tables = NativeTables(sampler.prob, sampler.alias)
        negs = torch.randint(0, V, (ROWS, WIDTH, K) if sg else (ROWS, K), generator=torch.Generator().manual_seed(5))
        # some noise words equal the target: fastText skip-gram's is the context word, CBOW's the centre word
        targets = context.clamp(min=0).unsqueeze(2).expand(negs.shape) if sg else centre.unsqueeze(1).expand(negs.shape)
        negs.view(-1)[::4] = targets.reshape(-1)[::4]
    if hs:
        tables.points = torch.as_tensor(tree.points) + offset
        tables.codes, tables.lengths = torch.as_tensor(tree.codes), torch.as_tensor(tree.lengths)
    ref = reference(w_in, w_out, centre, context, alpha, sg, hs, negs, tree, cbow_mean=cbow_mean, offset=offset,
                    rows_of=rows_of)
    got_in, got_out = w_in.clone(), w_out.clone()
    examples, loss, _, decisions = train_block(got_in, got_out, centre, context, alpha, sg, hs, K if ns else 0,
                                               tables, seed=3, threads=1, negatives=negs, cbow_mean=cbow_mean,
                                               subwords=(torch.from_numpy(offsets), torch.from_numpy(rows)))
    return w_in, (got_in, got_out, examples, loss, decisions), ref[:5]


def assert_kernel_is_reference(w_in, got, ref, atol=2e-5):
    (got_in, got_out, examples, loss, decisions), (ref_in, ref_out, ref_loss, ref_decisions, ref_examples) = got, ref
    assert examples == ref_examples and decisions == ref_decisions and decisions > 0
    assert not torch.equal(got_in[V:], w_in[V:])  # the n-gram rows were trained
    torch.testing.assert_close(got_in.double(), ref_in, rtol=0, atol=atol)
    torch.testing.assert_close(got_out.double(), ref_out, rtol=0, atol=atol)
    assert loss == pytest.approx(ref_loss, rel=1e-4)


@needs_kernel
@pytest.mark.parametrize("sg", [True, False], ids=["sg", "cbow"])
@pytest.mark.parametrize("loss_kind", ["ns", "hs", "hs+ns"])
def test_kernel_with_subwords_equals_the_reference(sg, loss_kind, cbow_mean=True):
    """The kernel against fastText's per-pair loop (skip-gram: the kernel gathers the centre word's rows once
    and adds the window's summed gradient once; the reference recomputes h and updates every row per pair)."""
    assert_kernel_is_reference(*kernel_and_reference(sg, loss_kind, cbow_mean))


@needs_kernel
@pytest.mark.parametrize("loss_kind", ["ns", "hs"])
def test_kernel_with_subwords_cbow_sum_equals_the_reference(loss_kind):
    test_kernel_with_subwords_equals_the_reference(False, loss_kind, cbow_mean=False)


@needs_kernel
@pytest.mark.parametrize("loss_kind", ["ns", "hs", "hs+ns"])
def test_kernel_with_colliding_ngrams_equals_the_reference(loss_kind):
    """Centre words whose n-grams share buckets, so R(w) lists a row two or more times: within a window the
    kernel moves h by f neu1e with f = (sum of m^2) / |R(w)| > 1, and the row gets m times the summed gradient."""
    words = ["aaaa", "abab", "the", "of", "a", "x", "bb", "to", "in", "is"]
    bucket = 3  # "aaaa" has 9 n-grams of lengths 2 and 3 ("aa" three times, "aaa" twice) for 3 buckets
    offsets, rows = subword_rows(words, 2, 3, bucket)
    most = [max(np.unique(rows[offsets[w]:offsets[w + 1]], return_counts=True)[1]) for w in (0, 1, 2)]
    assert min(most) >= 2 and most[0] >= 3  # each centre word lists a row more than once
    centre = torch.tensor([0, 1, 2, 0, 1, 0, 2, 1, 0])  # every centre word has colliding n-grams
    # the rates are lower than above: f is up to about 4 here, and all rows of R(w) move together
    w_in, got, ref = kernel_and_reference(True, loss_kind, words=words, bucket=bucket, centre=centre, empty=0.1,
                                          alpha=(0.2, 0.05))
    assert int(got[2]) >= 2 * (ROWS - 1)  # several pairs a window: the deferred updates matter
    assert_kernel_is_reference(w_in, got, ref)


@needs_kernel
@pytest.mark.parametrize("loss_kind", ["ns", "hs", "hs+ns"])
def test_kernel_with_one_row_per_word_is_word2vec(loss_kind):
    """Subword tables that give each word only its own row: CBOW trains exactly as plain word2vec; skip-gram
    exactly as word2vec's skip-gram with the centre and context words swapped (fastText's input is the centre
    word, word2vec's the context word): the pairs (w, c) of row r as rows of their own, centre c and the single
    context word w, in the same order and with the same noise words."""
    gen = torch.Generator().manual_seed(1)
    tree = build_huffman(COUNTS)
    hs, ns = loss_kind != "ns", loss_kind != "hs"
    offset = V if ns else 0
    w_in, w_out = torch.rand(V, D, generator=gen) - 0.5, torch.rand(offset + (V - 1 if hs else 0), D, generator=gen)
    w_out -= 0.5
    centre, context = torch.randint(0, V, (ROWS,), generator=gen), torch.randint(0, V, (ROWS, WIDTH), generator=gen)
    context[torch.rand(ROWS, WIDTH, generator=gen) < 0.2] = -1
    alpha = torch.linspace(0.4, 0.1, ROWS)
    tables = NativeTables()
    if ns:
        sampler = NoiseSampler(COUNTS, 0.75, torch.device("cpu"))
        tables = NativeTables(sampler.prob, sampler.alias)
    if hs:
        tables.points = torch.as_tensor(tree.points) + offset
        tables.codes, tables.lengths = torch.as_tensor(tree.codes), torch.as_tensor(tree.lengths)
    negative = K if ns else 0
    one_row = (torch.arange(V + 1), torch.arange(V))
    runs = []  # CBOW, with the kernel's own noise draws
    for subwords in (None, one_row):
        a, b = w_in.clone(), w_out.clone()
        runs.append(train_block(a, b, centre, context, alpha, False, hs, negative, tables, seed=4, threads=1,
                                subwords=subwords) + (a, b))
    assert runs[0][0] > 0 and runs[0][:4] == runs[1][:4]
    assert torch.equal(runs[0][4], runs[1][4]) and torch.equal(runs[0][5], runs[1][5])
    # skip-gram: given noise words, so that the swapped block's rows draw the same ones
    negs = torch.randint(0, V, (ROWS, WIDTH, K), generator=torch.Generator().manual_seed(5)) if ns else None
    a, b = w_in.clone(), w_out.clone()
    fasttext = train_block(a, b, centre, context, alpha, True, hs, negative, tables, seed=4, threads=1,
                           negatives=negs, subwords=one_row)
    row, slot = (context >= 0).nonzero(as_tuple=True)  # row-major: the kernel's order
    a2, b2 = w_in.clone(), w_out.clone()
    swapped = train_block(a2, b2, context[row, slot], centre[row].unsqueeze(1), alpha[row], True, hs, negative,
                          tables, seed=4, threads=1, negatives=None if negs is None else negs[row, slot].unsqueeze(1))
    assert fasttext[0] == len(row) > 0 and fasttext == swapped
    assert torch.equal(a, a2) and torch.equal(b, b2) and not torch.equal(a, w_in)
    ref_in, ref_out, ref_loss, ref_decisions, ref_examples, _ = reference(
        w_in, w_out, centre, context, alpha, True, hs, negs, tree, offset=offset, rows_of=[[w] for w in range(V)])
    assert (fasttext[0], fasttext[3]) == (ref_examples, ref_decisions)
    torch.testing.assert_close(a.double(), ref_in, rtol=0, atol=2e-5)
    torch.testing.assert_close(b.double(), ref_out, rtol=0, atol=2e-5)
    assert fasttext[1] == pytest.approx(ref_loss, rel=1e-4)


# ------------------------------------------------------------------------------ the trainer
def test_settings():
    cfg = Word2VecConfig(model="fasttext-cbow")
    assert cfg.subwords and not cfg.skipgram and not cfg.hogbatch
    assert Word2VecConfig(model="fasttext-sg").skipgram and not Word2VecConfig(model="fasttext-sg").hogbatch
    assert Word2VecConfig().skipgram and not Word2VecConfig().subwords and Word2VecConfig().hogbatch
    assert (cfg.min_n, cfg.max_n, cfg.bucket) == (3, 6, 2_000_000)  # fastText's defaults
    Word2VecConfig(model="fasttext-sg", max_n=0).validate()  # no n-grams: each word its own row
    for changes, message in [({"min_n": 0}, "1 <= min_n <= max_n"), ({"min_n": 7}, "1 <= min_n <= max_n"),
                             ({"bucket": 0}, "bucket must be at least 1"), ({"bucket": 2**33}, "bucket must be at"),
                             ({"cpu_kernel": "batched"}, "cpu_kernel batched")]:
        with pytest.raises(ConfigError, match=message):
            dataclasses.replace(Word2VecConfig(model="fasttext-sg"), **changes).validate()


def test_tables(lee):
    vocab, _ = lee
    w2v = Word2Vec(vocab, small_config())
    assert w2v.w_in.shape == (len(vocab) + 20_000, 16)
    # fastText's (and gensim's) initialisation: uniform in [-1, 1] / dim, the n-gram rows as the words' rows
    for rows in (w2v.w_in[:len(vocab)], w2v.w_in[len(vocab):]):
        assert rows.abs().max() <= 1 / 16 and rows.abs().max() > 0.99 / 16
        assert rows.std().item() == pytest.approx(1 / 16 / math.sqrt(3), rel=0.02)
    offsets, rows = subword_rows(vocab.words, 3, 6, 20_000)
    assert torch.equal(w2v.sub_offsets, torch.from_numpy(offsets)) and torch.equal(w2v.sub_rows, torch.from_numpy(rows))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model,loss", [("fasttext-sg", "ns"), ("fasttext-cbow", "hs+ns")])
def test_same_seed_same_vectors(lee, model, loss, kernel):
    vocab, data = lee
    cfg = small_config(model=model, loss=loss, cpu_kernel=kernel)
    runs = []
    for seed in (1, 1, 2):
        w2v = Word2Vec(vocab, dataclasses.replace(cfg, seed=seed))
        w2v.train(data, quiet=True)
        runs.append(w2v)
    assert torch.equal(runs[0].w_in, runs[1].w_in) and torch.equal(runs[0].w_out, runs[1].w_out)
    assert not torch.equal(runs[0].w_in, runs[2].w_in)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model,loss", [("fasttext-sg", "hs"), ("fasttext-cbow", "ns")])
def test_resume_from_checkpoint_is_exact(lee, tmp_path, model, loss, kernel):
    vocab, data = lee
    cfg = small_config(model=model, loss=loss, epochs=2, cpu_kernel=kernel)
    full = Word2Vec(vocab, cfg)
    full.train(data, quiet=True)

    ckpt = tmp_path / "ft.ckpt"
    first = Word2Vec(vocab, dataclasses.replace(cfg, checkpoint_words=1))  # a checkpoint after every block
    with interrupt_after(int(1.4 * len(data.ids))), pytest.raises(KeyboardInterrupt):
        first.train(data, quiet=True, checkpoint_path=ckpt)
    state = load_checkpoint(ckpt)
    assert state["epoch"] == 1 and state["chunk"] > 0 and state["w_in"].shape == full.w_in.shape
    resumed = Word2Vec.from_state_dict(state)
    resumed.train(data, quiet=True)
    assert torch.equal(resumed.w_in, full.w_in) and torch.equal(resumed.w_out, full.w_out)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("model,loss", [("fasttext-sg", "ns"), ("fasttext-sg", "hs"), ("fasttext-cbow", "ns"),
                                        ("fasttext-cbow", "hs")])
def test_training_learns(lee, model, loss, kernel, cooccurrence_score):
    # measured with seed 1, C kernel (10 epochs): sg-ns 0.15, sg-hs 0.17, cbow-ns 0.42, cbow-hs 0.12; torch steps
    # (5 epochs, to keep the test short): 0.19, 0.14, 0.35, 0.16; untrained: < 0.02
    vocab, data = lee
    cfg = small_config(model=model, loss=loss, dim=50, epochs=10 if kernel == "native" else 5, cpu_kernel=kernel)
    w2v = Word2Vec(vocab, cfg)
    assert abs(cooccurrence_score(w2v.keyed_vectors(), data)) < 0.02  # the initial vectors do not pass
    w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    assert isinstance(kv, FastTextVectors) and kv.vectors.shape == (len(vocab), 50) and kv.words == vocab.words
    assert torch.isfinite(w2v.w_in).all() and torch.isfinite(w2v.w_out).all()
    score = cooccurrence_score(kv, data)
    print(f"{model}-{loss} {kernel}: {score:.3f}")
    assert score > 0.08
    # the n-grams learnt too: a misspelling's n-gram vector is close to the word's
    assert kv.similarity("goverment", "government") > 0.5


def test_vectors_are_means_of_rows(lee):
    vocab, data = lee
    w2v = Word2Vec(vocab, small_config())
    w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    w_in, n = w2v.w_in.double(), len(vocab)
    word = "government"
    rows = [vocab.words.index(word)] + [n + h for h in ngram_hashes(word, 3, 6, 20_000)]
    assert np.allclose(kv[word], w_in[rows].mean(0).numpy(), atol=1e-6)
    oov = "goverment"
    assert oov not in kv.key_to_index and oov in kv
    assert np.allclose(kv[oov], w_in[[n + h for h in ngram_hashes(oov, 3, 6, 20_000)]].mean(0).numpy(), atol=1e-6)
    assert np.allclose(kv.get_vector(oov, norm=True), kv[oov] / np.linalg.norm(kv[oov]), atol=1e-6)
    assert torch.equal(kv.ngrams, w2v.w_in[n:])
    assert "" not in kv  # "<>" has no 3-gram
    with pytest.raises(UnknownWordError, match="'' is not in the vocabulary, and it has no character 3- to 6-grams"):
        kv.get_vector("")
    # queries take words outside the vocabulary as their n-gram vectors
    assert kv.similarity(oov, "government") == pytest.approx(
        float(kv.get_vector(oov, norm=True) @ kv.get_vector("government", norm=True)), abs=1e-6)
    by_word = kv.most_similar(oov, topn=5)
    by_vector = kv.most_similar(positive=[kv.get_vector(oov, norm=True)], topn=5)
    assert by_word == by_vector
    assert kv.most_similar(positive=[oov], negative=["the"], topn=3) == kv.most_similar(
        positive=[kv.get_vector(oov, norm=True)], negative=["the"], topn=3)


def test_save_and_load(lee, tmp_path):
    vocab, data = lee
    w2v = Word2Vec(vocab, small_config(min_n=2, max_n=4, bucket=5000))
    w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    path = kv.save(tmp_path / "ft")
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "ngrams.npy", "vectors.npy", "vocab.tsv"]
    back = FastTextVectors.load(path)
    assert (back.min_n, back.max_n, back.bucket) == (2, 4, 5000) and back.words == kv.words
    assert torch.equal(back.vectors, kv.vectors) and torch.equal(back.ngrams, kv.ngrams)
    assert np.array_equal(back.counts, kv.counts) and np.array_equal(back["goverment"], kv["goverment"])
    again = KeyedVectors.load(path)  # knows a fastText directory
    assert isinstance(again, FastTextVectors) and np.array_equal(again["goverment"], kv["goverment"])
    words, matrix, _ = read_vectors(path)  # any reader of native directories: the vocabulary's vectors
    assert words == kv.words and np.array_equal(matrix, kv.vectors.numpy())
    plain = KeyedVectors(kv.words, kv.vectors)
    half = FastTextVectors.load(kv.save(tmp_path / "half", dtype="float16"))
    assert torch.allclose(half.ngrams, kv.ngrams, rtol=1e-3, atol=1e-4)  # float16: 11 bits
    kv.save(tmp_path / "ft.bin")  # word2vec binary: the vocabulary's vectors only
    assert torch.equal(KeyedVectors.load(tmp_path / "ft.bin").vectors, kv.vectors)
    with pytest.raises(DataError, match="no fastText settings"):
        FastTextVectors.load(plain.save(tmp_path / "plain"))
    with pytest.raises(DataError, match="need the native directory"):
        FastTextVectors.load(tmp_path / "ft.bin")


def test_convert_keeps_ngrams_between_native_directories(lee, tmp_path, caplog):
    vocab, data = lee
    w2v = Word2Vec(vocab, small_config(min_n=2, max_n=4, bucket=5000))
    w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    source = kv.save(tmp_path / "ft")
    convert_vectors(source, tmp_path / "half", dtype="float16")
    half = FastTextVectors.load(tmp_path / "half")
    assert (half.min_n, half.max_n, half.bucket) == (2, 4, 5000)
    assert torch.allclose(half.ngrams, kv.ngrams, rtol=1e-3, atol=1e-4)
    assert np.allclose(half["goverment"], kv["goverment"], rtol=1e-2, atol=1e-3)  # out of the vocabulary
    with caplog.at_level("WARNING", logger="seqlab"):
        convert_vectors(source, tmp_path / "ft.txt")
    assert "n-grams" in caplog.text and "left out" in caplog.text
    assert np.allclose(KeyedVectors.load(tmp_path / "ft.txt").vectors, kv.vectors, atol=1e-6)


def test_to_gensim(lee):
    vocab, data = lee
    w2v = Word2Vec(vocab, small_config())
    w2v.train(data, quiet=True)
    kv = w2v.keyed_vectors()
    gkv = kv.to_gensim()
    for word in ["government", "the", "a", "goverment", "unseenword", "café", "ab"]:
        assert np.allclose(gkv[word], kv[word], atol=1e-6), word
    assert np.array_equal(gkv.vectors, kv.vectors.numpy())
    gkv.adjust_vectors()  # gensim's own composition of the words' rows and n-grams gives them again
    assert np.allclose(gkv.vectors, kv.vectors.numpy(), atol=1e-5)
    assert gkv.get_vecattr("the", "count") == kv.counts[kv.index("the")]
    assert gkv.most_similar("goverment", topn=3)[0][0] == kv.most_similar("goverment", topn=3)[0][0]


def test_gensim_style_fasttext(tmp_path):
    from seqlab import FastText

    sentences = [simple_preprocess(line) for line in open(LEE, encoding="utf-8")]
    model = FastText(sentences, sg=1, vector_size=16, min_count=2, epochs=1, bucket=20_000, min_n=2, max_n=5,
                     workers=1, seed=3)
    assert (model.sg, model.min_n, model.max_n, model.bucket) == (1, 2, 5, 20_000)
    assert model.trainer.config.model == "fasttext-sg"
    wv = model.wv
    assert isinstance(wv, FastTextVectors) and wv["goverment"].shape == (16,) and (wv.min_n, wv.max_n) == (2, 5)
    before = model.trainer.w_in.clone()
    model.build_vocab([["zzyzx", "qwertyuiop"] * 3], update=True)  # new words go before the n-gram rows
    n = len(model.trainer.vocab)
    assert n == len(wv) + 2 and torch.equal(model.trainer.w_in[n:], before[len(wv):])
    model.save(tmp_path / "ft.model")
    back = FastText.load(tmp_path / "ft.model")
    assert torch.equal(back.trainer.w_in, model.trainer.w_in) and back.wv.bucket == 20_000
    assert FastText(sg=0).trainer is None and FastText(sg=0).config.model == "fasttext-cbow"


# ---------------------------------------------------------------------------------- the CLI
def test_cli_fasttext(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["embed", "train", str(LEE), "--model", "fasttext-sg", "--bucket", "20000", "--dim", "16",
            "--epochs", "1", "--min-count", "2", "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    kv = FastTextVectors.load(tmp_path / "lee_background.fasttext")  # the default output: a directory
    assert kv.bucket == 20_000 and kv.vector_size == 16 and kv["goverment"].shape == (16,)
    assert "bucket = 20000" in (tmp_path / "lee_background.fasttext" / "config.toml").read_text()
    result = CliRunner().invoke(main, ["similar", "goverment", "--vectors", "lee_background.fasttext", "--device",
                                       "cpu", "--json", "-n", "3"])
    assert result.exit_code == 0, result.stderr
    assert [(d["word"], pytest.approx(d["score"], abs=1e-5)) for d in json.loads(result.stdout)] == \
        kv.most_similar("goverment", topn=3)
    index = VectorIndex.load(tmp_path / "lee_background.fasttext")  # numpy, what the CLI queries
    assert isinstance(index, FastTextIndex) and "goverment" in index and "" not in index
    assert index.similarity("goverment", "government") == pytest.approx(kv.similarity("goverment", "government"),
                                                                         abs=1e-5)
    assert np.allclose(index.ngram_vector("goverment"), kv["goverment"], atol=1e-6)
    result = CliRunner().invoke(main, ["similar", "", "--vectors", "lee_background.fasttext", "--device", "cpu"])
    assert result.exit_code == 2 and "has no character 3- to 6-grams" in result.stderr
    result = CliRunner().invoke(main, [*args[:-1], "-o", "ft.bin"])
    assert result.exit_code == 0, result.output
    assert "vocabulary's vectors only" in result.stderr
    assert KeyedVectors.load(tmp_path / "ft.bin").vector_size == 16
    result = CliRunner().invoke(main, ["embed", "train", str(LEE), "--model", "fasttext-sg", "--min-n", "4",
                                       "--max-n", "3", "--quiet"])
    assert result.exit_code == 2 and "1 <= min_n <= max_n" in result.stderr


# ------------------------------------------------------------------------------ against gensim
@pytest.mark.parametrize("sg", [1, 0], ids=["sg", "cbow"])
def test_quality_close_to_gensims_fasttext(sg, cooccurrence_score):
    """fastText on Lee with gensim's settings (about 2 s each): similar co-occurrence scores, and the n-gram
    vectors of misspellings have the same near neighbours in both."""
    from gensim.models import FastText

    from seqlab.text.vocab import EncodedCorpus, Vocab

    sentences = [simple_preprocess(line) for line in open(LEE, encoding="utf-8")]
    settings = dict(dim=50, window=5, negative=5, min_count=2, epochs=10, min_n=3, max_n=6, bucket=20_000)
    cfg = Word2VecConfig(model="fasttext-sg" if sg else "fasttext-cbow", **settings, seed=1)
    kv, _ = train_word2vec(sentences, cfg, "cpu", quiet=True)
    theirs = FastText(sentences, sg=sg, vector_size=50, window=5, negative=5, min_count=2, epochs=10, min_n=3,
                      max_n=6, bucket=20_000, workers=1, seed=1).wv
    vocab = Vocab(kv.words, kv.counts, int(kv.counts.sum()))
    data = EncodedCorpus.encode(sentences, vocab)
    ours_score = cooccurrence_score(kv, data)
    assert sorted(theirs.index_to_key) == sorted(kv.words)
    their_score = cooccurrence_score(KeyedVectors(kv.words, theirs[kv.words]), data)  # rows in our word order
    ours_sim, their_sim = kv.similarity("goverment", "government"), theirs.similarity("goverment", "government")
    print(f"cooccurrence: seqlab {ours_score:.3f}, gensim {their_score:.3f}; "
          f"goverment~government: seqlab {ours_sim:.3f}, gensim {their_sim:.3f}")
    assert abs(ours_score - their_score) < 0.03
    assert ours_sim > 0.6 and their_sim > 0.6
    for misspelt, word in [("goverment", "governance"), ("australias", "australia"), ("presidnet", "presidency")]:
        ours, their = ([w for w, _ in vectors.most_similar(misspelt, topn=10)] for vectors in (kv, theirs))
        print(misspelt, ours[:5], their[:5], len(set(ours) & set(their)))
        assert word in ours[:3] and word in their[:3]
        assert len(set(ours) & set(their)) >= 3  # of 10 (measured 6-8 for sg, 3-6 for cbow; chance: 0.02)
