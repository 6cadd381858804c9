"""In-domain pretraining text for the sentiment models: IMDB reviews as a word2vec corpus.

SST sentences are movie-review snippets, lowercased and PTB-tokenised. The Large Movie Review
Dataset (Maas et al. 2011; ``../shared/data/sentiment-extra/imdb``: 100k reviews, 26.5M tokens) is
the same domain, so vectors trained on its text (labels unused) cover SST far better than
Wikipedia vectors. This module writes the reviews one a line, tokenised like SST by
:func:`seqlab.sentiment.data.tokenize` (the tokeniser of training and prediction too; the reviews'
``<br />`` line breaks become spaces), and with ``--vectors`` trains seqlab's word2vec on them
(``configs/imdb_vectors.toml``: CBOW, 300 dimensions; 11-13 minutes on one CPU thread, which makes
every build the same):

    seqlab sentiment pretrain ../shared/data/sentiment-extra/imdb -o imdb.txt --vectors imdb_vectors
    seqlab sentiment train --config configs/sst5_bilstm.toml --vectors imdb_vectors --set emb_dim=300 -o runs/x
    python benchmarks/sentiment_sst.py --vectors imdb      # builds them once, in the cache, if absent
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from seqlab.config import build_config
from seqlab.embeddings.word2vec_io import config_file
from seqlab.errors import ConfigError, DataError
from seqlab.io import atomic_open, open_text
from seqlab.sentiment.data import tokenize
from seqlab.sentiment.lm import LMConfig, pretrain_encoder
from seqlab.training import discard_checkpoint, last_checkpoint

VECTORS_CONFIG = config_file("imdb_vectors.toml")

SPLITS = ("unsup", "train", "test")


def imdb_corpus(imdb_dir: str | os.PathLike, output: str | os.PathLike) -> int:
    """Write every review of ``imdb_<split>.tsv.xz`` (id, rating, label, text) tokenised, one a line
    (:func:`seqlab.sentiment.data.tokenize`, with the reviews' ``<br />`` line breaks as spaces).

    Returns the number of tokens written.
    """
    tokens = 0
    files = [Path(imdb_dir) / f"imdb_{split}.tsv.xz" for split in SPLITS]
    files = [f for f in files if f.exists()]
    if not files:
        raise DataError(f"{imdb_dir}: no imdb_{{unsup,train,test}}.tsv.xz files")
    with atomic_open(output) as out:
        for path in files:
            with open_text(path) as fh:
                next(fh, None)  # header
                for number, line in enumerate(fh, 2):
                    fields = line.rstrip("\n").split("\t", 3)
                    if len(fields) != 4:
                        raise DataError(f"{path}: line {number} has {len(fields)} tab-separated fields, expected 4")
                    words = tokenize(fields[3].replace("<br />", " "))
                    tokens += len(words)
                    out.write(" ".join(words) + "\n")
    return tokens


def imdb_vectors(corpus: str | os.PathLike, output: str | os.PathLike, config: str | os.PathLike | None = None,
                 device: str = "auto", quiet: bool = False, threads: int = 1, resume: bool = False) -> Path:
    """Train word2vec (settings of ``config``, default ``configs/imdb_vectors.toml``) on the corpus
    written by :func:`imdb_corpus` and save the vectors at ``output`` (format from the extension). The
    training state is checkpointed as ``output.last.safetensors``; ``resume`` continues from it.

    On the CPU, with ``threads = 1`` (the default), the vectors are the same at every build: the C
    kernel's Hogwild updates from several threads interleave differently on each run, and the SST
    figures moved by about a point with the vectors. ``threads = 0`` uses torch's thread count
    (about twice as fast on two cores, but a different build each time)."""
    from seqlab.embeddings.word2vec import Word2VecConfig, train_word2vec

    if threads < 0:
        raise ConfigError(f"threads must be 1 or more, or 0 for torch's count; got {threads}")
    cfg = build_config(Word2VecConfig, config or VECTORS_CONFIG, section="word2vec")
    checkpoint = last_checkpoint(output)
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        kv, _ = train_word2vec(corpus, cfg, device, checkpoint_path=checkpoint, resume=resume, quiet=quiet)
    finally:
        torch.set_num_threads(before)
    path = kv.save(output)
    discard_checkpoint(checkpoint)
    return Path(path)


def prepare_imdb(imdb_dir: str | os.PathLike, output: str | os.PathLike, vectors: str | None = None,
                 config: str | None = None, encoder: str | None = None, lm: LMConfig | None = None,
                 device: str = "auto", threads: int = 1, log: Callable[[str], None] = print,
                 resume: bool = False) -> None:
    """Write the IMDB corpus to ``output`` (kept when it exists and more is asked), then, when asked, train
    ``vectors`` on it (unless they exist) and pretrain the biLM ``encoder`` over them (``lm`` settings).

    With ``resume`` the interrupted step continues from its checkpoint: the vectors when they are
    still to be made, else the encoder (a missing checkpoint is a DataError)."""
    if Path(output).exists() and (vectors or encoder):
        log(f"reusing the corpus {output}")
    else:
        log(f"{imdb_corpus(imdb_dir, output):,} tokens written to {output}")
    if vectors and not Path(vectors).exists():
        log(f"vectors written to {imdb_vectors(output, vectors, config, device, threads=threads, resume=resume)}")
        resume = False  # the encoder comes after the vectors: it had not started
    if encoder:
        if not vectors:
            raise ConfigError("--encoder needs --vectors (the encoder's fixed input embeddings)")
        summary = pretrain_encoder(output, vectors, encoder, lm or LMConfig(), device, resume=resume, log=log)
        log(f"encoder written to {encoder}: {summary['tokens']:,} tokens, perplexity {summary['perplexity']:.1f}")


def main() -> None:
    """``python -m seqlab.sentiment.pretrain ...``: the same as ``seqlab sentiment pretrain ...``."""
    from seqlab.cli.sentiment import pretrain_command

    pretrain_command(prog_name="python -m seqlab.sentiment.pretrain")


if __name__ == "__main__":
    main()
