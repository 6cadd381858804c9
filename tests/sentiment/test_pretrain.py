"""The IMDB pretraining corpus: SST-style tokens, one review a line."""

from __future__ import annotations

import lzma

import pytest

from seqlab.config import build_config
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.errors import ConfigError, DataError
from seqlab.sentiment.data import tokenize
from seqlab.sentiment.pretrain import VECTORS_CONFIG, imdb_corpus, imdb_vectors


def test_corpus_from_tsv_xz(tmp_path):
    """The corpus is tokenised by the tokeniser of training and prediction; <br /> breaks are spaces."""
    review = "They presume their audience won't sit still (really)<br />It's re-imagining."
    with lzma.open(tmp_path / "imdb_train.tsv.xz", "wt", encoding="utf-8") as fh:
        fh.write("id\trating\tlabel\ttext\n1\t9\tpos\tGreat film!\n2\t2\tneg\tI didn't like it.\n")
        fh.write(f"3\t3\tneg\t{review}\n")
    assert imdb_corpus(tmp_path, tmp_path / "out.txt") == 24
    assert (tmp_path / "out.txt").read_text().splitlines() == [
        "great film !", "i did n't like it .",
        "they presume their audience wo n't sit still -lrb- really -rrb- it 's re-imagining ."]
    assert tokenize(review.replace("<br />", " ")) == [
        "they", "presume", "their", "audience", "wo", "n't", "sit", "still", "-lrb-", "really", "-rrb-", "it",
        "'s", "re-imagining", "."]
    with pytest.raises(DataError, match="no imdb_"):
        imdb_corpus(tmp_path / "none", tmp_path / "x.txt")


def test_imdb_vectors_follow_the_config_and_cover_the_corpus(tmp_path):
    reviews = ["a great film with a great cast", "a dull film with a dull plot", "great acting , dull plot"] * 20
    with lzma.open(tmp_path / "imdb_unsup.tsv.xz", "wt", encoding="utf-8") as fh:
        fh.write("id\trating\tlabel\ttext\n")
        fh.writelines(f"{i}\t0\tunsup\t{text}\n" for i, text in enumerate(reviews))
    imdb_corpus(tmp_path, tmp_path / "imdb.txt")
    config = tmp_path / "w2v.toml"
    config.write_text('[word2vec]\nmodel = "cbow"\ndim = 12\nmin_count = 2\nepochs = 2\n', encoding="utf-8")
    path = imdb_vectors(tmp_path / "imdb.txt", tmp_path / "vectors.txt", config, device="cpu", quiet=True)
    kv = KeyedVectors.load(path)
    assert kv.vector_size == 12 and set(kv.words) == {"a", "great", "film", "with", "cast", "dull", "plot", "acting",
                                                      ","}
    assert not (tmp_path / "vectors.txt.ckpt").exists()
    assert VECTORS_CONFIG.is_file()  # the shipped preset is found (installed as seqlab.configs)
    assert build_config(Word2VecConfig, VECTORS_CONFIG, section="word2vec").dim == 300


def test_imdb_vectors_train_on_one_thread_so_every_build_is_the_same(tmp_path, monkeypatch):
    import torch

    import seqlab.embeddings.word2vec as w2v

    words = "good bad film plot cast dull great fine acting story scene music".split()
    gen = torch.Generator().manual_seed(0)
    lines = [" ".join(words[int(i)] for i in torch.randint(len(words), (12,), generator=gen)) for _ in range(400)]
    (tmp_path / "imdb.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "w2v.toml"
    config.write_text('[word2vec]\nmodel = "cbow"\ndim = 16\nmin_count = 1\nepochs = 2\n', encoding="utf-8")
    seen, real = [], w2v.train_word2vec

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(w2v, "train_word2vec", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first = KeyedVectors.load(imdb_vectors(tmp_path / "imdb.txt", tmp_path / "a.txt", config, "cpu", quiet=True))
        second = KeyedVectors.load(imdb_vectors(tmp_path / "imdb.txt", tmp_path / "b.txt", config, "cpu", quiet=True))
        assert torch.get_num_threads() == 2  # the caller's thread count comes back
        imdb_vectors(tmp_path / "imdb.txt", tmp_path / "c.txt", config, "cpu", quiet=True, threads=0)
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1, 2]  # threads = 0 keeps torch's count
    assert first.words == second.words
    assert torch.equal(torch.as_tensor(first.vectors), torch.as_tensor(second.vectors))
    with pytest.raises(ConfigError, match="threads must be"):
        imdb_vectors(tmp_path / "imdb.txt", tmp_path / "d.txt", config, "cpu", quiet=True, threads=-1)


def test_the_pretrain_command_and_its_module_alias(tmp_path):
    """``seqlab sentiment pretrain`` (library: prepare_imdb) and ``python -m seqlab.sentiment.pretrain``."""
    import subprocess
    import sys

    from click.testing import CliRunner

    from seqlab.cli.main import main

    with lzma.open(tmp_path / "imdb_train.tsv.xz", "wt", encoding="utf-8") as fh:
        fh.write("id\trating\tlabel\ttext\n1\t9\tpos\tGreat film!\n2\t2\tneg\tDull, dull.\n")
    result = CliRunner().invoke(main, ["sentiment", "pretrain", str(tmp_path), "-o", str(tmp_path / "c.txt")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c.txt").read_text().splitlines() == ["great film !", "dull , dull ."]
    result = CliRunner().invoke(main, ["sentiment", "pretrain", str(tmp_path), "-o", str(tmp_path / "d.txt"),
                                       "--encoder", str(tmp_path / "enc")])
    assert result.exit_code == 2 and "--encoder needs --vectors" in result.output
    alias = subprocess.run([sys.executable, "-m", "seqlab.sentiment.pretrain", str(tmp_path / "none"), "-o",
                            str(tmp_path / "e.txt")], capture_output=True, text=True, timeout=120)
    assert alias.returncode == 2 and alias.stderr.startswith("seqlab: error: ") and "Traceback" not in alias.stderr
