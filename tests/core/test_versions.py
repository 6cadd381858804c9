"""Every artefact records the seqlab that wrote it (issue 27): ``seqlab_version`` in a model's or a checkpoint's
safetensors header, in a native vectors directory's meta.json, and as the last line of the settings saved beside
a model or vectors; word2vec files have no place for it. Files without it (seqlab 0.1's) still load."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from safetensors import safe_open

from seqlab import __version__
from seqlab.config import build_config, to_toml
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.embeddings.word2vec_io import save_trained
from seqlab.io import VERSION_KEY, load_checkpoint, save_checkpoint, stamp
from seqlab.rl.qlearning import QLearningConfig
from seqlab.rl.train import load_rl_config, train_qlearning

STAMP_LINE = f'# seqlab_version = "{__version__}"'


def raw_header(path) -> dict[str, str]:
    """The safetensors metadata as any safetensors reader sees it (not through seqlab's reader)."""
    with safe_open(str(path), framework="pt") as fh:
        return fh.metadata()


def small_vectors() -> KeyedVectors:
    words = ["the", "cat", "sat", "on", "mat"]
    return KeyedVectors(words, np.arange(15, dtype=np.float32).reshape(5, 3), np.array([9, 5, 4, 3, 2]))


def test_stamp_adds_the_version_and_keeps_the_rest():
    meta = {"format": "x", "version": 2}
    assert stamp(meta) == {"format": "x", "version": 2, VERSION_KEY: __version__} and VERSION_KEY not in meta


def test_a_checkpoint_records_the_version_in_its_header(tmp_path):
    save_checkpoint({"kind": "test-state", "w": torch.ones(2)}, tmp_path / "last.safetensors")
    assert raw_header(tmp_path / "last.safetensors")[VERSION_KEY] == __version__


def test_a_model_directory_records_the_version_in_the_model_and_its_config(tmp_path):
    """A whole pipeline's output (rl's Q-learning: seconds): model.safetensors and config.toml."""
    out = tmp_path / "run"
    cfg = QLearningConfig(episodes=20, epsilon_episodes=10)
    train_qlearning(cfg, out)
    assert raw_header(out / "model.safetensors")[VERSION_KEY] == __version__
    assert (out / "config.toml").read_text(encoding="utf-8").splitlines()[-1] == STAMP_LINE
    assert load_rl_config(out / "config.toml") == cfg  # the comment is read past


def test_the_saved_settings_end_with_the_version_and_read_back(tmp_path):
    cfg = Word2VecConfig(dim=8, min_count=1)
    text = to_toml(cfg, "word2vec")
    assert text.splitlines()[-1] == STAMP_LINE and text.startswith("[word2vec]\n")
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    assert build_config(Word2VecConfig, tmp_path / "config.toml", "word2vec") == cfg


@pytest.mark.parametrize("name", ["vectors.bin", "vectors.txt"])
def test_word2vec_files_have_no_place_for_it_but_their_settings_file_has(tmp_path, name):
    path = tmp_path / name
    save_trained(small_vectors(), Word2VecConfig(dim=3, min_count=1), path)
    assert __version__.encode() not in path.read_bytes()  # the format gensim reads, unchanged
    assert (tmp_path / f"{name}.toml").read_text(encoding="utf-8").splitlines()[-1] == STAMP_LINE
    assert KeyedVectors.load(path).words == small_vectors().words


def test_a_native_directory_records_the_version_in_its_config(tmp_path):
    save_trained(small_vectors(), Word2VecConfig(dim=3, min_count=1), tmp_path / "vectors")
    assert (tmp_path / "vectors" / "config.toml").read_text(encoding="utf-8").splitlines()[-1] == STAMP_LINE


def test_a_native_directory_records_the_version_in_meta_json(tmp_path):
    small_vectors().save(tmp_path / "vectors")
    assert json.loads((tmp_path / "vectors" / "meta.json").read_text(encoding="utf-8"))[VERSION_KEY] == __version__


def test_files_without_the_version_still_load(tmp_path, monkeypatch):
    """Files of seqlab 0.1 have no seqlab_version anywhere."""
    monkeypatch.setattr("seqlab.state_file.stamp", lambda meta: dict(meta))
    save_checkpoint({"kind": "test-state", "w": torch.ones(2)}, tmp_path / "old.safetensors")
    assert VERSION_KEY not in raw_header(tmp_path / "old.safetensors")
    assert torch.equal(load_checkpoint(tmp_path / "old.safetensors")["w"], torch.ones(2))

    small_vectors().save(tmp_path / "vectors")
    meta_path = tmp_path / "vectors" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.pop(VERSION_KEY, None)
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert KeyedVectors.load(tmp_path / "vectors").words == small_vectors().words

    config = tmp_path / "config.toml"
    config.write_text(re.sub(r"(?m)^# seqlab_version.*\n", "", to_toml(QLearningConfig(), "qlearning")),
                      encoding="utf-8")
    assert "seqlab_version" not in config.read_text(encoding="utf-8")
    assert load_rl_config(config) == QLearningConfig()
