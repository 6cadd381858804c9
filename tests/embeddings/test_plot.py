"""Plots: the files open as images and are not blank; a clear message without matplotlib."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from seqlab.embeddings.keyed_vectors import KeyedVectors, load_default_vectors
from seqlab.embeddings.plot import plot_bias, plot_words
from seqlab.errors import ConfigError, DataError

WORDS = ["king", "queen", "man", "woman", "paris", "france", "berlin", "germany", "dog", "cat", "xyzzyq"]


def assert_real_image(path) -> None:
    image = pytest.importorskip("matplotlib.image").imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    pixels = image[..., :3].reshape(-1, 3)
    assert pixels.std() > 0.05  # not a blank canvas
    assert (np.abs(pixels - pixels[0]).sum(1) > 0.1).mean() > 0.01  # many pixels differ from the background


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_word_map_png(tmp_path, method):
    kv = load_default_vectors()
    path, missing = plot_words(kv, WORDS, tmp_path / f"{method}.png", method=method)
    assert missing == ["xyzzyq"] and path.exists()
    assert_real_image(path)


def test_bias_png(tmp_path):
    path = plot_bias({"nurse": 0.3, "engineer": -0.2, "she": 0.5}, tmp_path / "bias.png",
                     after={"nurse": 0.0, "engineer": 0.0, "she": 0.4})
    assert_real_image(path)


def test_too_few_words(tmp_path):
    kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    with pytest.raises(DataError, match="at least 3 words in the vocabulary; found 2 of 3"):
        plot_words(kv, ["a", "b", "zz"], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_message_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ConfigError, match=r"plots need matplotlib: pip install 'seqlab\[plot\]'"):
        plot_bias({"a": 0.1}, tmp_path / "x.png")
