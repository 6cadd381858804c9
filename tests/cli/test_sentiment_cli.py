"""``seqlab sentiment train|eval|predict`` through Click's test runner."""

from __future__ import annotations

import json
import random

import pytest
import torch
from click.testing import CliRunner

from seqlab.cli.main import sentiment
from seqlab.sentiment.predict import Classifier

GOOD = ["good", "great", "fine", "superb"]
BAD = ["bad", "awful", "dull", "poor"]


def _write(path, n, seed):
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = [rng.choice(["the", "film", "was", "a", "plot", "really"]) for _ in range(rng.randint(1, 4))]
        words.insert(rng.randint(0, len(words)), rng.choice(GOOD if label else BAD))
        lines.append(f"{label} {' '.join(words)}\n")
    path.write_text("".join(lines))
    return path


def run(*args, input=None):
    return CliRunner().invoke(sentiment, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sentiment_data")
    return _write(root / "train.txt", 400, 1), _write(root / "dev.txt", 60, 2), _write(root / "test.txt", 100, 3)


@pytest.fixture(scope="module")
def model(tmp_path_factory, data):
    """A small NBoW trained through the CLI on a constructed SST-format slice."""
    out = tmp_path_factory.mktemp("sentiment") / "model"
    torch.set_num_threads(1)
    train, dev, test = data
    result = run("train", "-o", out, "--device", "cpu", "--quiet", "--json", "--model", "nbow", "--vectors", "",
                 "--set", f"train='{train}'", "--set", f"dev='{dev}'", "--set", f"test='{test}'",
                 "--set", "num_classes=2", "--set", "emb_dim=16", "--epochs", "12", "--lr", "0.02")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["test_accuracy"] >= 0.9 and summary["epochs"] >= 1
    return out


def test_round_trip_train_predict_eval(model, data):
    result = run("predict", model, "a really great film", "the plot was awful", "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().split("\n")
    assert [line.split("\t")[0] for line in lines] == ["positive", "negative"]
    probs = dict(item.split("=") for item in lines[0].split("\t")[1].split(" "))
    assert set(probs) == {"negative", "positive"} and float(probs["positive"]) > 0.5

    result = run("predict", model, "--json", input="superb\nthe film was dull\n")
    rows = [json.loads(line) for line in result.output.strip().split("\n")]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert sum(rows[0]["probabilities"].values()) == pytest.approx(1.0)

    result = run("eval", model, data[2], "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    classifier = Classifier.load(model)
    from seqlab.sentiment.data import read_examples

    expected = classifier.evaluate(read_examples(data[2], classifier.labels))
    assert report["accuracy"] == expected.accuracy >= 0.9
    assert report["labels"] == ["negative", "positive"] and sum(map(sum, report["confusion_matrix"])) == 100
    text = run("eval", model, data[2])
    assert "macro-F1" in text.output and "confusion matrix" in text.output and "precision" in text.output


def test_eval_plot(model, data, tmp_path):
    pytest.importorskip("matplotlib")
    result = run("eval", model, data[2], "--plot", tmp_path / "cm.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_bad_inputs(model, tmp_path):
    result = run("predict", model, "great", "")
    assert result.exit_code == 2 and "seqlab: error: argument 2: empty text" in result.output
    assert result.output.startswith("positive")
    result = run("predict", model, "--json", "qwertyuiop zxcv")
    assert result.exit_code == 0
    assert "warning: argument 1: no word of the text is in the model's vocabulary" in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["label"] in ("negative", "positive")
    result = run("predict", model, input="")
    assert result.exit_code == 2 and "no text to classify" in result.output

    (tmp_path / "bad.txt").write_text("1 good\npositive good\n")
    result = run("eval", model, tmp_path / "bad.txt")
    assert result.exit_code == 2 and f"{tmp_path / 'bad.txt'}: line 2: expected 'LABEL text'" in result.output
    (tmp_path / "range.txt").write_text("1 good\n4 good\n")
    result = run("eval", model, tmp_path / "range.txt")
    assert result.exit_code == 2 and "line 2: label 4 is out of range for 2 classes" in result.output
    result = run("eval", tmp_path, tmp_path / "range.txt")
    assert result.exit_code == 2 and "not a seqlab sentiment model directory" in result.output
    result = run("train", "--set", "nonsense=1")
    assert result.exit_code == 2 and "unknown option 'nonsense'" in result.output
    result = run("train", "-o", tmp_path / "x", "--set", f"train='{tmp_path / 'missing.txt'}'", "--quiet")
    assert result.exit_code == 2 and "missing.txt: no such file" in result.output
    for output in (result.output for result in [result]):
        assert "Traceback" not in output


def test_extend_vocab_and_encoder_flags(data, tmp_path):
    from seqlab.embeddings.keyed_vectors import KeyedVectors

    torch.set_num_threads(1)
    train, dev, _ = data
    words = [*GOOD, *BAD, "the", "film", "marvellous", "dreadful"]  # the last two: not in the training data
    vectors = KeyedVectors(words, torch.randn(len(words), 8).numpy()).save(tmp_path / "v.txt")
    common = ["--device", "cpu", "--quiet", "--model", "nbow", "--vectors", vectors, "--set", f"train='{train}'",
              "--set", f"dev='{dev}'", "--set", "test=''", "--set", "num_classes=2", "--set", "emb_dim=8",
              "--epochs", "1"]
    result = run("train", "-o", tmp_path / "m", "--extend-vocab", *common)
    assert result.exit_code == 0, result.output
    classifier = Classifier.load(tmp_path / "m")
    assert classifier.words[-2:] == ["marvellous", "dreadful"] and classifier.model.cfg.fixed_rows == 2
    result = run("predict", tmp_path / "m", "--json", "marvellous")
    assert result.exit_code == 0 and "warning" not in result.output
    result = run("train", "-o", tmp_path / "x", "--encoder", tmp_path, *common[:-4], "--model", "rnn")
    assert result.exit_code == 2
    assert "not a seqlab sentiment encoder model directory (no encoder.safetensors)" in result.output
    assert "Traceback" not in result.output


def test_default_model_predicts_negation():
    """The shipped SST-2 model: seqlab sentiment predict "not good at all"."""
    result = run("predict", "not good at all", "a gorgeous , witty and moving film", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.strip().split("\n")]
    assert [r["label"] for r in rows] == ["negative", "positive"]
    assert set(rows[0]["probabilities"]) == {"negative", "positive"}


def test_a_mistyped_model_directory_is_an_error_not_text():
    result = run("predict", "runs/none", "good")
    assert result.exit_code == 2 and "runs/none: no such model directory" in result.output
    assert "Traceback" not in result.output
    result = run("predict", "writer/director", "--device", "cpu")  # one argument alone stays text
    assert result.exit_code == 0 and result.stdout.split("\t")[0] in ("negative", "positive")
