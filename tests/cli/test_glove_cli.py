"""``seqlab glove train`` through Click's test runner: the same output formats, config handling,
co-occurrence reuse, resume and one-line errors as ``seqlab embed train``."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from gensim.models import KeyedVectors as GensimKeyedVectors
from interrupt import interrupt_after

from seqlab.cli.main import main
from seqlab.config import build_config
from seqlab.embeddings.glove import Glove, GloveConfig, count_cooccurrences, train_glove
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.io import load_checkpoint
from seqlab.text.vocab import Vocab

TEXT = """\
the river runs through the old town and the market square is busy every morning
farmers bring apples bread and cheese to the market before the sun rises
the children walk to school along the river and stop on the old stone bridge
a teacher at the school tells the children about the history of the town
in the evening the market is quiet and the farmers drive home to their farms
the town council meets on monday to talk about the new bridge over the river
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
    return CliRunner().invoke(main, ["glove", "train", *map(str, args)])


def quick(corpus: Path, output: Path, *extra: str):
    return run(corpus, "-o", output, "--epochs", "2", "--min-count", "1", "--window", "4", "--dim", "10",
               "--quiet", "--device", "cpu", *extra)


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.stderr
    assert result.stderr.startswith("seqlab: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert result.stdout == ""


def test_text_output_gensim_reads_and_the_library_matches(corpus, tmp_path):
    out = tmp_path / "out.txt"
    result = quick(corpus, out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "" and result.stdout.startswith("wrote ")
    theirs = GensimKeyedVectors.load_word2vec_format(str(out), binary=False)
    cfg = build_config(GloveConfig, None, epochs=2, min_count=1, window=4, dim=10)
    expected, _ = train_glove(corpus, cfg, "cpu", quiet=True)
    assert theirs.index_to_key == expected.words
    torch.testing.assert_close(torch.as_tensor(theirs.vectors), expected.vectors)
    saved = tomllib.loads((tmp_path / "out.txt.toml").read_text(encoding="utf-8"))["glove"]
    assert (saved["epochs"], saved["window"], saved["dim"], saved["x_max"]) == (2, 4, 10, 100.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "out.txt.toml", "out.txt.vocab", "town.txt"]


def test_native_output_json_config_and_cooc_file(corpus, tmp_path):
    config = tmp_path / "small.toml"
    config.write_text("[glove]\ndim = 12\nx-max = 5.0\nepochs = 1\nmin_count = 2\n", encoding="utf-8")
    out, cooc = tmp_path / "vectors", tmp_path / "town.cooc"
    result = run(corpus, "-o", out, "--config", config, "--dim", "6", "--cooc", cooc, "--quiet", "--json",
                 "--word-only", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["dim"] == 6 and summary["device"] == "cpu" and summary["nonzero"] > 0
    saved = tomllib.loads((out / "config.toml").read_text(encoding="utf-8"))["glove"]
    assert (saved["dim"], saved["x_max"], saved["min_count"], saved["word_only"]) == (6, 5.0, 2, True)
    kv = KeyedVectors.load(out)
    assert kv.vector_size == 6 and "sun" not in kv and "the" in kv
    assert count_cooccurrences(corpus, build_config(GloveConfig, config, "glove", dim=6), "cpu", quiet=True).nnz == \
        summary["nonzero"]
    assert cooc.exists()
    again = run(corpus, "-o", tmp_path / "again", "--config", config, "--dim", "6", "--cooc", cooc, "--quiet",
                "--word-only", "--device", "cpu")
    assert again.exit_code == 0 and torch.equal(KeyedVectors.load(tmp_path / "again").vectors, kv.vectors)
    bad = run(corpus, "-o", tmp_path / "x", "--config", config, "--window", "3", "--cooc", cooc, "--quiet")
    assert_one_line_error(bad, "town.cooc: this co-occurrence matrix was counted with window = 15, not 3")


def test_resume_after_an_interruption(corpus, tmp_path):
    cfg = GloveConfig(dim=10, window=4, min_count=1, epochs=3, batch_size=64, seed=3)
    out, ckpt = tmp_path / "out.bin", tmp_path / "out.bin.ckpt"
    cooc = count_cooccurrences(corpus, cfg, "cpu", quiet=True)
    model = Glove(Vocab(cooc.words, cooc.counts, cooc.total_words), dataclasses.replace(cfg, checkpoint_entries=1))
    model.corpus = str(corpus.resolve())
    with interrupt_after(cooc.nnz + 1), pytest.raises(KeyboardInterrupt):
        model.train(*cooc.entries(), quiet=True, checkpoint_path=ckpt)
    assert 1 <= load_checkpoint(ckpt)["epoch"] < 3  # stopped before the end
    result = run(corpus, "-o", out, "--resume", "--dim", "99", "--quiet", "--device", "cpu")  # the checkpoint wins
    assert result.exit_code == 0, result.stderr
    expected, _ = train_glove(corpus, cfg, "cpu", quiet=True)
    assert torch.equal(KeyedVectors.load(out).vectors, expected.vectors) and not ckpt.exists()


def test_default_corpus_runs(tmp_path):
    result = CliRunner().invoke(main, ["glove", "train", "-o", str(tmp_path / "lee.txt"), "--epochs", "1",
                                       "--dim", "8", "--quiet", "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["corpus"].endswith("lee_background.cor") and summary["vocab_size"] > 4000  # min-count 2


@pytest.mark.parametrize("name,content,fragments", [
    ("missing.txt", None, ["missing.txt: no such file"]),
    ("empty.txt", "", ["empty.txt: the corpus is empty"]),
    ("latin1.txt", "caf\xe9 au lait\n".encode("latin-1"), ["latin1.txt: line 1: not valid UTF-8"]),
    ("one.txt", "lonely\n", ["co-occurrence matrix is empty"]),
])
def test_bad_corpus(tmp_path, name, content, fragments):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    assert_one_line_error(quick(path, tmp_path / "out.txt"), *fragments)
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize("args,fragments", [
    (["--min-count", "1000"], ["town.txt: no word occurs at least 1000 times", "lower --min-count"]),
    (["--x-max", "0"], ["x_max must be positive"]),
    (["--config", "nothere.toml"], ["nothere.toml: no such config file"]),
    (["--cooc", "{tmp}/bad.cooc"], ["bad.cooc: not a seqlab model or checkpoint"]),
])
def test_bad_options(corpus, tmp_path, args, fragments):
    (tmp_path / "bad.cooc").write_bytes(b"garbage")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert_one_line_error(run(corpus, "-o", tmp_path / "out.txt", "--quiet", "--device", "cpu", *args), *fragments)


def test_memory_flag(corpus, tmp_path):
    usage = " ".join(run("--help").output.split())
    assert "--memory FLOAT" in usage and "sorted runs spilled to temporary files" in usage
    assert_one_line_error(quick(corpus, tmp_path / "out.txt", "--memory", "0"), "memory must be positive")


def test_model_0_writes_every_parameter_in_glove_c_text_layout(corpus, tmp_path):
    out = tmp_path / "all.glove"
    result = quick(corpus, out, "--model", "0", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["model"] == 0 and json.loads(result.stdout)["dim"] == 22
    cfg = build_config(GloveConfig, None, epochs=2, min_count=1, window=4, dim=10, model=0)
    cooc = count_cooccurrences(corpus, cfg, "cpu", quiet=True)
    model = Glove(Vocab(cooc.words, cooc.counts, cooc.total_words), cfg)
    model.train(*cooc.entries(), quiet=True)
    # glove.c's save_params, model 0: "word" then " %lf" for w_1..w_D, b, w~_1..w~_D, b~; no header line
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ")[0] for line in lines] == model.vocab.words
    written = torch.tensor([[float(x) for x in line.split(" ")[1:]] for line in lines])
    dim = 10
    torch.testing.assert_close(written[:, :dim], model.weight)
    torch.testing.assert_close(written[:, dim], model.bias)
    torch.testing.assert_close(written[:, dim + 1:2 * dim + 1], model.context)
    torch.testing.assert_close(written[:, 2 * dim + 1], model.context_bias)
    kv = KeyedVectors.load(out)  # read back as vectors of 2 (D + 1) numbers; the usual ones are two slices
    summed, _ = train_glove(corpus, build_config(GloveConfig, None, epochs=2, min_count=1, window=4, dim=10), "cpu",
                            quiet=True)
    torch.testing.assert_close(kv.vectors[:, :dim] + kv.vectors[:, dim + 1:-1], summed.vectors)


def test_model_flag_word_only_and_default_output(corpus, tmp_path, monkeypatch):
    word_only, model_1 = tmp_path / "w.txt", tmp_path / "m.txt"
    assert quick(corpus, word_only, "--word-only").exit_code == 0
    assert quick(corpus, model_1, "--model", "1").exit_code == 0
    assert torch.equal(KeyedVectors.load(word_only).vectors, KeyedVectors.load(model_1).vectors)
    assert_one_line_error(quick(corpus, tmp_path / "x.txt", "--model", "0", "--word-only"), "contradict")
    assert_one_line_error(quick(corpus, tmp_path / "x.txt", "--model", "3"), "model must be 0, 1 or 2")
    help_text = " ".join(run("--help").output.split())
    assert "--model INTEGER" in help_text and "--word-only" in help_text and ".glove: no header line" in help_text
    monkeypatch.chdir(tmp_path)
    result = run(corpus, "--epochs", "1", "--min-count", "1", "--dim", "4", "--model", "0", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert "writing the vectors to town.glove" in result.stderr and "-model 0" in result.stdout
    assert KeyedVectors.load(tmp_path / "town.glove").vector_size == 10
