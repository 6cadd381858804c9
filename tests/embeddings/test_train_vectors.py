"""train_vectors: the vectors pipelines in the shape every pipeline shares, train_X(config, output, ...) ->
summary, writing the output with the settings beside it and leaving no checkpoint."""

from __future__ import annotations

import pytest

from seqlab.embeddings.glove import GloveConfig
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.embeddings.word2vec_io import train_vectors
from seqlab.errors import DataError


@pytest.mark.parametrize("config", [Word2VecConfig(dim=8, epochs=1, min_count=2, lowercase=True),
                                    GloveConfig(dim=8, epochs=2, min_count=2, lowercase=True)])
def test_train_vectors_writes_the_output_and_returns_the_summary(config, tmp_path, one_thread):
    out = tmp_path / "v.bin"
    summary = train_vectors(config, out, device="cpu", quiet=True)  # the embedded default corpus
    kv = KeyedVectors.load(out)
    assert (summary["output"], summary["vocab_size"], summary["dim"]) == (str(out), len(kv), 8)
    assert summary["corpus"].endswith("lee_background.cor") and summary["config"] == config
    section = "glove" if isinstance(config, GloveConfig) else "word2vec"
    assert (tmp_path / "v.bin.toml").read_text().count(f"[{section}]") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.bin", "v.bin.toml", "v.bin.vocab"]
    with pytest.raises(DataError, match="no checkpoint to resume from"):
        train_vectors(config, tmp_path / "w.bin", device="cpu", quiet=True, resume=True)
