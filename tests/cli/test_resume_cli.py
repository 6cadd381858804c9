"""``--resume`` behaves the same in every command: it continues from the run's checkpoint, and without
one it is the same one-line error (``<checkpoint>: no checkpoint to resume from``, exit status 2). A file
output keeps its training state in ``OUTPUT.last.safetensors`` (a model directory in ``DIR/last.safetensors``);
an interrupted run names it."""

from __future__ import annotations

import lzma

import numpy as np
import pytest
import torch
from interrupt import interrupt_after
from one_line import assert_one_line_error, invoke

from seqlab.embeddings.keyed_vectors import KeyedVectors

TEXT = """\
a small boat crossed the lake at dawn and the fishermen waited on the shore
the fishermen pulled their nets from the lake while the boat drifted near the shore
children ran along the shore and watched the boat and the nets in the morning light
at noon the lake was calm and the fishermen sold their fish in the village square
the village square was full of people who bought fish and bread from the fishermen
in the evening the boat came back across the lake and the children waved from the shore
"""
FLAGS = {"embed": ["--min-count", "1", "--dim", "8", "--epochs", "3", "--batch-size", "4", "--checkpoint-words", "1",
                   "--quiet", "--device", "cpu"],
         "glove": ["--min-count", "1", "--dim", "8", "--window", "4", "--epochs", "3", "--checkpoint-entries", "1",
                   "--quiet", "--device", "cpu"]}


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs with one torch thread (see conftest.one_thread)."""


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "town.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["embed", "glove"])
def test_train_with_resume_and_no_checkpoint_is_an_error(command, corpus, tmp_path):
    out = tmp_path / "out.txt"
    result = invoke(command, "train", corpus, "-o", out, "--resume", *FLAGS[command])
    assert_one_line_error(result, f"{out}.last.safetensors: no checkpoint to resume from")
    assert not out.exists()
    mine = tmp_path / "mine.ckpt"
    result = invoke(command, "train", corpus, "-o", out, "--checkpoint", mine, "--resume", *FLAGS[command])
    assert_one_line_error(result, f"{mine}: no checkpoint to resume from")


@pytest.mark.parametrize("command", ["embed", "glove"])
def test_the_checkpoint_option_shows_the_one_name(command):
    result = invoke(command, "train", "--help")
    assert result.exit_code == 0 and "[default: OUTPUT.last.safetensors]" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", ["embed", "glove"])
def test_an_interrupted_run_names_its_checkpoint_and_resume_finishes_it(command, corpus, tmp_path):
    whole, out = tmp_path / "whole.bin", tmp_path / "out.bin"
    assert invoke(command, "train", corpus, "-o", whole, *FLAGS[command]).exit_code == 0
    checkpoint = tmp_path / "out.bin.last.safetensors"
    with interrupt_after(checkpoints=2):
        result = invoke(command, "train", corpus, "-o", out, *FLAGS[command])
    assert result.exit_code == 130 and checkpoint.exists() and not out.exists()
    assert result.stderr == f"seqlab: error: interrupted; the last checkpoint is {checkpoint}: continue with --resume\n"
    result = invoke(command, "train", corpus, "-o", out, "--resume", *FLAGS[command])
    assert result.exit_code == 0, result.stderr
    assert torch.equal(KeyedVectors.load(out).vectors, KeyedVectors.load(whole).vectors)
    assert not checkpoint.exists()


def test_a_run_without_resume_replaces_the_checkpoint(corpus, tmp_path):
    out, checkpoint = tmp_path / "out.bin", tmp_path / "out.bin.last.safetensors"
    with interrupt_after(checkpoints=2):  # one block an epoch: after the second epoch
        assert invoke("embed", "train", corpus, "-o", out, *FLAGS["embed"]).exit_code == 130
    (tmp_path / "out.bin.ckpt").write_bytes(checkpoint.read_bytes())  # one of the previous release's name too
    with interrupt_after(checkpoints=1):
        assert invoke("embed", "train", corpus, "-o", out, *FLAGS["embed"]).exit_code == 130
    from seqlab.io import load_checkpoint

    assert load_checkpoint(checkpoint)["words_done"] < load_checkpoint(tmp_path / "out.bin.ckpt")["words_done"]
    assert invoke("embed", "train", corpus, "-o", out, *FLAGS["embed"]).exit_code == 0
    assert not checkpoint.exists() and not (tmp_path / "out.bin.ckpt").exists()


@pytest.fixture
def imdb(tmp_path):
    folder = tmp_path / "imdb"
    folder.mkdir()
    with lzma.open(folder / "imdb_train.tsv.xz", "wt", encoding="utf-8") as fh:
        fh.write("id\trating\tlabel\ttext\n1\t9\tpos\tA great film. Great cast!\n2\t2\tneg\tA dull film. Dull plot.\n")
    return folder


def test_sentiment_pretrain_with_resume_and_no_checkpoint_is_an_error(imdb, tmp_path):
    corpus, vectors, encoder = tmp_path / "c.txt", tmp_path / "v.txt", tmp_path / "enc"
    result = invoke("sentiment", "pretrain", imdb, "-o", corpus, "--vectors", vectors, "--resume", "--device", "cpu")
    assert_one_line_error(result, f"{vectors}.last.safetensors: no checkpoint to resume from")
    assert not vectors.exists()
    words = ["a", "great", "film", ".", "cast", "!", "dull", "plot"]
    KeyedVectors(words, np.eye(len(words), dtype=np.float32)).save(vectors)  # the vectors are done: the encoder
    result = invoke("sentiment", "pretrain", imdb, "-o", corpus, "--vectors", vectors, "--encoder", encoder,
                    "--tokens", "50", "--hidden-size", "4", "--resume", "--device", "cpu")
    assert_one_line_error(result, f"{encoder / 'last.safetensors'}: no checkpoint to resume from")
    assert not (encoder / "encoder.safetensors").exists()
