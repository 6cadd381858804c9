"""``seqlab vision train|style|oneshot`` through Click's test runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from seqlab.cli.main import main

pytestmark = pytest.mark.usefixtures("one_thread")


def run(*args):
    return CliRunner().invoke(main, ["vision", *map(str, args)])


def test_train_json_and_resume(tmp_path):
    out = tmp_path / "m"
    result = run("train", "-o", out, "--epochs", "1", "--set", "image_size=16", "--set", "batch_size=128",
                 "--optimizer", "momentum", "--lr", "0.05", "--threads", "1", "--device", "cpu", "--quiet", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["epochs"] == 1
    result = run("train", "-o", out, "--epochs", "2", "--set", "image_size=16", "--set", "batch_size=128",
                 "--optimizer", "momentum", "--lr", "0.05", "--device", "cpu", "--quiet", "--resume")
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output
    changed = run("train", "-o", out, "--epochs", "3", "--lr", "0.1", "--device", "cpu", "--quiet", "--resume")
    assert changed.exit_code == 2 and "different settings" in changed.output


def test_train_errors_are_one_line(tmp_path):
    result = run("train", "--config", tmp_path / "missing.toml", "-o", tmp_path / "m")
    assert result.exit_code == 2 and "no such config file" in result.output and "Traceback" not in result.output
    result = run("train", "-o", tmp_path / "m", "--set", "decay='cosine'")
    assert result.exit_code == 2 and "decay must be one of" in result.output


def test_style_with_the_default_images(tmp_path):
    out = tmp_path / "styled.png"
    result = run("style", "-o", out, "--steps", "3", "--size", "32", "--device", "cpu", "--quiet", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["final_loss"] < summary["initial_loss"] and summary["extractor"] == "random-multiscale"
    from seqlab.vision.images import load_image

    assert load_image(out).shape == (1, 3, 21, 32)  # china.jpg is 427 x 640
    again = run("style", out, out, "-o", tmp_path / "b.jpg", "--steps", "1", "--optimizer", "adam", "--quiet")
    assert again.exit_code == 0, again.output
    result = run("style", out, "-o", tmp_path / "c.png")
    assert result.exit_code == 2 and "give both CONTENT and STYLE" in result.output
    result = run("style", tmp_path / "nope.png", out, "-o", tmp_path / "c.png")
    assert result.exit_code == 2 and "nope.png: no such file" in result.output


def test_oneshot_json():
    result = run("oneshot", "--steps", "20", "--unseen", "8,9", "--device", "cpu", "--quiet", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["unseen_classes"] == [8, 9] and 0 <= summary["verification_accuracy"] <= 1
    bad = run("oneshot", "--unseen", "7,x")
    assert bad.exit_code == 2 and "unseen_classes" in bad.output
