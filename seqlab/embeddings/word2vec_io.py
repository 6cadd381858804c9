"""How trained vectors are stored: the vectors (format from the name) with the config used beside them.

``config_file`` and ``default_corpus`` (the shipped presets and corpus) live in :mod:`seqlab.shipped`
and are still importable from here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from seqlab.config import to_toml
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.vectors_io import format_of
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.errors import ConfigError
from seqlab.io import atomic_open
from seqlab.shipped import config_file as config_file  # where it was
from seqlab.shipped import default_corpus as default_corpus  # where it was


def save_trained(kv: KeyedVectors, config: Word2VecConfig, output: str | os.PathLike,
                 store_dtype: str = "float32", section: str = "word2vec") -> Path:
    """Save vectors (format from the extension) and the config used (a ``[section]`` table), as
    ``<output>.toml`` or ``<dir>/config.toml`` for the native format; word2vec files also get ``<output>.vocab`` with
    the word counts (gensim reads it with ``load_word2vec_format(path, fvocab=...)``)."""
    native = format_of(output) == "native"
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


def train_vectors(config: Any, output: str | os.PathLike, corpus: str | os.PathLike | None = None,
                  device: str = "auto", checkpoint: str | os.PathLike | None = None, resume: bool = False,
                  quiet: bool = False, store_dtype: str = "float32", **options: Any) -> dict[str, Any]:
    """Train word2vec (a :class:`~seqlab.embeddings.word2vec.Word2VecConfig`) or GloVe (a
    :class:`~seqlab.embeddings.glove.GloveConfig`, with ``options`` such as ``cooc_path``) on ``corpus``
    (default: the embedded Lee corpus) into ``output``: the whole run of ``seqlab embed train`` and
    ``seqlab glove train``, in the shape of every pipeline's ``train_X(config, output, ...) -> summary``.

    The output is claimed first (:func:`seqlab.io.claim_output`: writable, and no other run writes it), and
    so are a given ``checkpoint`` and the other output paths in ``options``; the training state goes to
    ``checkpoint`` (default: ``OUTPUT.last.safetensors``); at the end the vectors and the config actually used
    (a resumed run keeps its checkpoint's) are saved (:func:`save_trained`) and the checkpoint is removed.
    Returns the trainer's statistics with ``output``, ``corpus``, ``vocab_size``, ``dim``, ``device`` and
    ``checkpoint``.
    """
    from seqlab.device import resolve_device
    from seqlab.embeddings.glove import GloveConfig, train_glove
    from seqlab.embeddings.word2vec import train_word2vec
    from seqlab.io import check_readable, check_writable, claim_output
    from seqlab.training import discard_checkpoint, last_checkpoint

    glove = isinstance(config, GloveConfig)
    train, section = (train_glove, "glove") if glove else (train_word2vec, "word2vec")
    corpus = corpus if corpus is not None else default_corpus()[0]
    device = resolve_device(device)
    ckpt = Path(checkpoint) if checkpoint is not None else last_checkpoint(output)
    check_readable(corpus)  # a missing corpus is reported before anything else is said
    with claim_output(output, directory=None):
        for extra in (checkpoint, *(v for k, v in options.items() if k.endswith("_path"))):
            if extra and not Path(extra).exists():
                check_writable(extra)
        kv, stats = train(corpus, config, device, checkpoint_path=ckpt, resume=resume, quiet=quiet, **options)
        path = save_trained(kv, stats["config"], output, store_dtype, section=section)
        discard_checkpoint(ckpt)
    return {**stats, "output": str(path), "corpus": str(corpus), "vocab_size": len(kv), "dim": kv.vector_size,
            "device": str(device), "checkpoint": str(ckpt)}
