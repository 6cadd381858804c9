"""Where word2vec's inputs come from and how its outputs are stored (the default corpus, the config
saved beside the vectors)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from seqlab.config import to_toml
from seqlab.embeddings.evaluate import gensim_test_data
from seqlab.embeddings.keyed_vectors import KeyedVectors, _format_of
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.errors import ConfigError
from seqlab.io import atomic_open


def config_file(name: str) -> Path:
    """Path of a preset in the repository's configs/ folder (installed as ``seqlab.configs``)."""
    return Path(str(resources.files("seqlab.configs") / name))


def default_corpus() -> tuple[Path, Path]:
    """The embedded default corpus (gensim's bundled Lee background corpus) and its config file."""
    return gensim_test_data("lee_background.cor"), config_file("word2vec_lee.toml")


def save_trained(kv: KeyedVectors, config: Word2VecConfig, output: str | os.PathLike,
                 store_dtype: str = "float32", section: str = "word2vec") -> Path:
    """Save vectors (format from the extension) and the config used (a ``[section]`` table), as
    ``<output>.toml`` or ``<dir>/config.toml`` for the native format; word2vec files also get ``<output>.vocab`` with
    the word counts (gensim reads it with ``load_word2vec_format(path, fvocab=...)``)."""
    native = _format_of(Path(output), None) == "native"
    if store_dtype != "float32" and not native:
        raise ConfigError(f"{output}: --store-dtype {store_dtype} is only for the native format")
    path = Path(kv.save(output, dtype=store_dtype))
    cfg_path = path / "config.toml" if native and path.is_dir() else Path(str(output) + ".toml")
    with atomic_open(cfg_path, "w", encoding="utf-8") as fh:
        fh.write("# the settings these vectors were trained with\n" + to_toml(config, section))
    if not native and kv.counts is not None:
        # word2vec files have no counts: keep them beside, in gensim's fvocab format ("word count")
        with atomic_open(str(output) + ".vocab", "w", encoding="utf-8") as fh:
            fh.writelines(f"{w} {c}\n" for w, c in zip(kv.words, kv.counts.tolist(), strict=True))
    return path
