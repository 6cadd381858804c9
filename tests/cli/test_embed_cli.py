"""``seqlab embed train`` through Click's test runner: output formats gensim can read, config files
with flags on top, resume, and one-line errors with exit status 2 for every bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from gensim.models import KeyedVectors as GensimKeyedVectors
from interrupt import interrupt_after

from seqlab.cli.main import main
from seqlab.config import build_config
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import EncodedCorpus, Word2Vec, Word2VecConfig, train_word2vec
from seqlab.text.corpus import Corpus
from seqlab.text.vocab import Vocab

TEXT = """\
The river runs through the old town and the market square is busy every morning .
Farmers bring apples , bread and cheese to the market before the sun rises .
The children walk to school along the river and stop on the old stone bridge .
A teacher at the school tells the children about the history of the town .
In the evening the market is quiet and the farmers drive home to their farms .
The town council meets on Monday to talk about the new bridge over the river .
Some people in the town want a bigger market , and others want a quiet square .
The mayor says the new bridge will bring more visitors to the market and the town .
Visitors buy bread and cheese at the market and take photographs of the river .
The old stone bridge was built by farmers and masons more than two hundred years ago .
The school library has books about the river , the farms and the history of the bridge .
On Saturday the children help their parents sell apples at the market square .
The council says the river is clean again and fish have come back to the town .
People walk along the river in the evening and talk about the market and the weather .
The farmers say the weather this year was good for apples but bad for cheese .
A new school will open next year near the bridge on the other side of the river .
"""


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "town.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def run(*args: str | Path):
    return CliRunner().invoke(main, ["embed", "train", *map(str, args)])


def quick(corpus: Path, output: Path, *extra: str):
    """Train one epoch on every word, without a progress bar, on the CPU."""
    return run(corpus, "-o", output, "--epochs", "1", "--min-count", "1", "--quiet", "--device", "cpu", *extra)


def library_vectors(corpus: Path, **fields) -> KeyedVectors:
    """What the library makes from the same settings, for comparison with the CLI's files."""
    cfg = build_config(Word2VecConfig, None, section="word2vec", **fields)
    kv, _ = train_word2vec(corpus, cfg, "cpu", quiet=True)
    return kv


def test_train_writes_word2vec_text_that_gensim_reads(corpus, tmp_path):
    out = tmp_path / "out.txt"
    result = quick(corpus, out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # --quiet: no progress bar, no message
    vocab = Vocab.build(Corpus(str(corpus)), min_count=1)
    assert result.stdout == f"wrote {len(vocab)} x 100 vectors to {out} " + result.stdout.split(f"{out} ")[1]

    gensim_kv = GensimKeyedVectors.load_word2vec_format(str(out), binary=False)
    assert gensim_kv.index_to_key == vocab.words
    assert gensim_kv.vectors.shape == (len(vocab), 100)
    expected = library_vectors(corpus, epochs=1, min_count=1)
    np.testing.assert_array_equal(gensim_kv.vectors, expected.vectors.numpy())  # %.9g round-trips float32

    saved = tomllib.loads((tmp_path / "out.txt.toml").read_text(encoding="utf-8"))["word2vec"]
    assert saved["epochs"] == 1 and saved["min_count"] == 1 and saved["dim"] == 100 and saved["model"] == "sg"
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["out.txt", "out.txt.toml", "out.txt.vocab", "town.txt"]  # no ckpt, no tmp


def test_train_writes_word2vec_binary(corpus, tmp_path):
    out = tmp_path / "vectors.bin"
    result = quick(corpus, out, "--model", "cbow", "--loss", "hs", "--dim", "24", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["output"] == str(out) and summary["dim"] == 24 and summary["device"] == "cpu"
    gensim_kv = GensimKeyedVectors.load_word2vec_format(str(out), binary=True)
    expected = library_vectors(corpus, epochs=1, min_count=1, model="cbow", loss="hs", dim=24)
    assert gensim_kv.index_to_key == expected.words and summary["vocab_size"] == len(expected)
    np.testing.assert_array_equal(gensim_kv.vectors, expected.vectors.numpy())
    saved = tomllib.loads((tmp_path / "vectors.bin.toml").read_text(encoding="utf-8"))["word2vec"]
    assert (saved["model"], saved["loss"], saved["dim"]) == ("cbow", "hs", 24)


def test_cpu_kernel_flag_picks_the_kernel_and_is_saved(corpus, tmp_path):
    for kernel in ("torch", "auto"):
        out = tmp_path / f"{kernel}.txt"
        result = quick(corpus, out, "--cpu-kernel", kernel, "--dim", "12")
        assert result.exit_code == 0, result.stderr
        saved = tomllib.loads((tmp_path / f"{kernel}.txt.toml").read_text(encoding="utf-8"))["word2vec"]
        assert saved["cpu_kernel"] == kernel
        expected = library_vectors(corpus, epochs=1, min_count=1, dim=12, cpu_kernel=kernel)
        np.testing.assert_array_equal(KeyedVectors.load(out).vectors.numpy(), expected.vectors.numpy())
    result = quick(corpus, tmp_path / "x.txt", "--cpu-kernel", "fast")
    assert result.exit_code == 2 and "'fast' is not one of 'auto', 'native', 'torch'" in result.stderr


def test_train_writes_a_native_directory(corpus, tmp_path):
    out = tmp_path / "town_vectors"
    result = quick(corpus, out, "--dim", "20", "--lowercase")
    assert result.exit_code == 0, result.stderr
    assert out.is_dir() and (out / "config.toml").is_file()
    kv = KeyedVectors.load(out)
    vocab = Vocab.build(Corpus(str(corpus), lowercase=True), min_count=1)
    assert kv.words == vocab.words and kv.counts.tolist() == vocab.counts.tolist()
    expected = library_vectors(corpus, epochs=1, min_count=1, dim=20, lowercase=True)
    assert torch.equal(kv.vectors, expected.vectors)
    saved = tomllib.loads((out / "config.toml").read_text(encoding="utf-8"))["word2vec"]
    assert saved["dim"] == 20 and saved["lowercase"] is True


def test_config_file_with_a_flag_on_top(corpus, tmp_path):
    config = tmp_path / "small.toml"
    config.write_text('[word2vec]\nmodel = "cbow"\ndim = 12\nwindow = 3\nepochs = 1\nmin-count = 2\n'
                      "lowercase = true\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    result = run(corpus, "-o", out, "--config", config, "--dim", "8", "--quiet", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    saved = tomllib.loads((tmp_path / "out.txt.toml").read_text(encoding="utf-8"))["word2vec"]
    assert saved["dim"] == 8  # the flag wins over the file
    assert (saved["model"], saved["window"], saved["epochs"], saved["min_count"], saved["lowercase"]) == \
        ("cbow", 3, 1, 2, True)  # the rest comes from the file
    assert saved["negative"] == 5  # and what neither sets, from the defaults
    kv = KeyedVectors.load(out)
    assert kv.vector_size == 8
    assert "the" in kv.words and "The" not in kv.words and "sun" not in kv.words  # lowercase, min-count 2
    expected = library_vectors(corpus, model="cbow", dim=8, window=3, epochs=1, min_count=2, lowercase=True)
    assert torch.equal(kv.vectors, expected.vectors)


# ------------------------------------------------------------------------------------ errors
def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("seqlab: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("name,content,fragments", [
    ("missing.txt", None, ["missing.txt: no such file"]),
    ("empty.txt", "", ["empty.txt: the corpus is empty"]),
    ("blank.txt", "  \n\n\t\n", ["blank.txt: the corpus is empty"]),
    ("latin1.txt", "caf\xe9 au lait\n".encode("latin-1"), ["latin1.txt: line 1: not valid UTF-8"]),
    ("corpus.txt.gz", b"not gzip data\n", ["corpus.txt.gz: cannot read"]),
    ("corpus.txt.xz", b"not xz data\n", ["corpus.txt.xz: cannot read"]),
])
def test_bad_corpus_file(tmp_path, name, content, fragments):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    assert_one_line_error(quick(path, tmp_path / "out.txt"), *fragments)
    assert not (tmp_path / "out.txt").exists()


def test_directory_as_corpus(tmp_path):
    (tmp_path / "texts").mkdir()
    result = quick(tmp_path / "texts", tmp_path / "out.txt")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert_one_line_error(result, "texts: is a directory")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_corpus(corpus, tmp_path):
    corpus.chmod(0)
    try:
        assert_one_line_error(quick(corpus, tmp_path / "out.txt"), "town.txt: permission denied")
    finally:
        corpus.chmod(0o644)


def test_no_word_reaches_min_count(corpus, tmp_path):
    result = run(corpus, "-o", tmp_path / "out.txt", "--min-count", "1000", "--quiet", "--device", "cpu")
    assert_one_line_error(result, "town.txt: no word occurs at least 1000 times", "lower --min-count")


@pytest.mark.parametrize("toml,fragments", [
    ("dimm = 5\n", ["bad.toml: unknown key 'dimm'"]),
    ('[word2vec]\ndim = "big"\n', ["bad.toml: dim must be a number, got 'big'"]),
    ("epochs = 2.5\n", ["bad.toml: epochs must be an integer"]),
    ("lowercase = 1\n", ["bad.toml: lowercase must be true or false"]),
    ('model = "glove"\n', ["model must be sg, cbow, fasttext-sg or fasttext-cbow, got 'glove'"]),
    ("model = \n", ["bad.toml: invalid TOML"]),
])
def test_bad_config_file(corpus, tmp_path, toml, fragments):
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    assert_one_line_error(quick(corpus, tmp_path / "out.txt", "--config", str(config)), *fragments)


def test_missing_config_file_and_bad_flag_value(corpus, tmp_path):
    assert_one_line_error(quick(corpus, tmp_path / "out.txt", "--config", str(tmp_path / "none.toml")),
                          "none.toml: no such config file")
    assert_one_line_error(quick(corpus, tmp_path / "out.txt", "--window", "0"), "window must be at least 1")


def test_cuda_without_cuda(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = run(corpus, "-o", tmp_path / "out.txt", "--epochs", "1", "--min-count", "1", "--quiet",
                 "--device", "cuda")
    assert_one_line_error(result, "--device cuda: CUDA is not available", "--device cpu")


# ------------------------------------------------------------------------------------ resume
def interrupted_checkpoint(corpus: Path, path: Path, cfg: Word2VecConfig) -> None:
    """Train with the library until a little past one epoch, leaving a checkpoint at ``path``."""
    sentences = Corpus(str(corpus), cfg.lowercase, cfg.max_sentence_length)
    vocab = Vocab.build(sentences, cfg.min_count)
    data = EncodedCorpus.encode(sentences, vocab)
    model = Word2Vec(vocab, dataclasses.replace(cfg, checkpoint_words=1))  # a checkpoint after every block
    model.corpus = str(corpus.resolve())
    with interrupt_after(len(data.ids) + 1), pytest.raises(KeyboardInterrupt):
        model.train(data, quiet=True, checkpoint_path=path)
    assert path.exists()


RESUME_FLAGS = ["--epochs", "3", "--min-count", "1", "--dim", "16", "--batch-size", "4", "--quiet",
                "--device", "cpu"]
CHECKPOINT_CONFIG = Word2VecConfig(epochs=3, min_count=1, dim=16, batch_size=4, seed=7)


def test_resume_continues_from_the_checkpoint(corpus, tmp_path):
    out = tmp_path / "out.txt"
    interrupted_checkpoint(corpus, tmp_path / "out.txt.ckpt", CHECKPOINT_CONFIG)
    # the flags ask for seed 1; the checkpoint's settings (seed 7) win, so only a real resume of it
    # gives the vectors of an uninterrupted seed-7 run
    result = run(corpus, "-o", out, "--resume", "--seed", "1", *RESUME_FLAGS)
    assert result.exit_code == 0, result.stderr
    kv = KeyedVectors.load(out)
    uninterrupted, _ = train_word2vec(corpus, CHECKPOINT_CONFIG, "cpu", quiet=True)
    assert kv.words == uninterrupted.words
    assert torch.equal(kv.vectors, uninterrupted.vectors)
    assert not (tmp_path / "out.txt.ckpt").exists()  # removed once the vectors are written
    assert not list(tmp_path.glob("*.tmp"))


def test_resume_saves_the_config_that_was_used(corpus, tmp_path):
    out = tmp_path / "out.txt"
    interrupted_checkpoint(corpus, tmp_path / "out.txt.ckpt", dataclasses.replace(CHECKPOINT_CONFIG, dim=12))
    result = run(corpus, "-o", out, "--resume", *RESUME_FLAGS)  # --dim 16 and seed 1, the checkpoint wins
    assert result.exit_code == 0, result.stderr
    assert KeyedVectors.load(out).vector_size == 12
    saved = tomllib.loads((tmp_path / "out.txt.toml").read_text(encoding="utf-8"))["word2vec"]
    assert (saved["dim"], saved["seed"]) == (12, 7)


def test_resume_with_a_checkpoint_of_another_corpus(corpus, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text(TEXT.lower(), encoding="utf-8")
    interrupted_checkpoint(other, tmp_path / "out.txt.ckpt", CHECKPOINT_CONFIG)
    result = run(corpus, "-o", tmp_path / "out.txt", "--resume", *RESUME_FLAGS)
    assert_one_line_error(result, "out.txt.ckpt: this checkpoint was made on", "other.txt", "drop --resume")


def test_word2vec_output_keeps_counts_in_a_gensim_fvocab_file(corpus, tmp_path):
    from gensim.models import KeyedVectors as GensimKeyedVectors

    out = tmp_path / "vectors.bin"
    result = run(corpus, "-o", out, "--epochs", "1", "--min-count", "1", "--quiet")
    assert result.exit_code == 0, result.stderr
    ours = KeyedVectors.load(out)
    theirs = GensimKeyedVectors.load_word2vec_format(str(out), binary=True, fvocab=str(out) + ".vocab")
    counts = [theirs.get_vecattr(w, "count") for w in ours.words]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1
    assert sum(counts) == len(corpus.read_text(encoding="utf-8").split())


def test_tokenize_simple_gives_words_without_punctuation(tmp_path, one_thread):
    from click.testing import CliRunner

    from seqlab.cli.main import main

    (tmp_path / "raw.txt").write_text("The king, the queen. The man; the woman!\n" * 40)
    out = tmp_path / "v.txt"
    result = CliRunner().invoke(main, ["embed", "train", str(tmp_path / "raw.txt"), "-o", str(out), "--min-count",
                                       "1", "--tokenize", "simple", "--lowercase", "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    words = set(KeyedVectors.load(out).words)
    assert {"king", "queen", "man", "woman", ",", "."} <= words and "king," not in words
    assert 'tokenize = "simple"' in (tmp_path / "v.txt.toml").read_text()


def test_a_dash_reads_the_corpus_from_stdin(tmp_path):
    import subprocess
    import sys

    text = "the cat sat on the mat\nthe dog sat on the log\n" * 50
    done = subprocess.run([sys.executable, "-m", "seqlab.cli.main", "embed", "train", "-", "--min-count", "1",
                           "--epochs", "1", "--dim", "8", "--quiet", "--device", "cpu"], input=text, text=True,
                          capture_output=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    kv = KeyedVectors.load(tmp_path / "stdin.bin")  # the default output name of a piped corpus
    assert sorted(kv.words) == ["cat", "dog", "log", "mat", "on", "sat", "the"]
