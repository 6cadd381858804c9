"""``seqlab embed``: train and evaluate word embeddings."""

from __future__ import annotations

import json

import click

from seqlab.cli.common import announce_output, default_vectors_output, run_vectors, vectors_options
from seqlab.config import build_config
from seqlab.device import resolve_device
from seqlab.embeddings.vectors_io import format_of
from seqlab.embeddings.word2vec import Word2VecConfig
from seqlab.embeddings.word2vec_io import default_corpus


@click.command("train")
@vectors_options(Word2VecConfig, "TOML config (configs/); flags override it.")
def train(corpus, output, config_path, checkpoint_path, resume, store_dtype, device, quiet, as_json,
          **settings) -> None:
    """Train word2vec on CORPUS (text, .gz, .bz2 or .xz; one sentence a line or text8-style; - reads stdin).

    Without CORPUS, trains on the embedded default: gensim's bundled Lee corpus with
    configs/word2vec_lee.toml settings (unless --config is given).
    """
    given = output is not None
    named = corpus
    if corpus is None:
        corpus, default_config = default_corpus()
        config_path = config_path or default_config
    cfg = build_config(Word2VecConfig, config_path, section="word2vec", **settings)
    # fastText's n-grams (vectors for any word) need the native directory: its default output is one
    output = output or default_vectors_output(named, ".fasttext" if cfg.subwords else ".bin")
    announce_output(output, given)
    if cfg.subwords and format_of(output) != "native" and not quiet:
        click.echo(f"seqlab: note: {output} will hold the vocabulary's vectors only; looking up words outside it "
                   f"needs the n-grams of a vectors directory (-o NAME without .bin/.txt)", err=True)
    if not quiet:
        click.echo(f"seqlab: training word2vec {cfg.model}-{cfg.loss} on {corpus} ({resolve_device(device)})",
                   err=True)
    stats = run_vectors(cfg, output, corpus, device, checkpoint_path, resume, quiet, store_dtype)
    summary = {k: stats[k] for k in ("output", "corpus", "vocab_size", "dim")}
    summary.update(words_per_second=round(stats["words_per_second"]), seconds=round(stats["seconds"], 2),
                   device=stats["device"])
    click.echo(json.dumps(summary) if as_json else
               f"wrote {stats['vocab_size']} x {stats['dim']} vectors to {stats['output']} "
               f"({stats['words_per_second']:,.0f} words/s, {stats['seconds']:.1f} s)")
    if not as_json and not quiet:
        click.echo(f"seqlab: query them with: seqlab similar WORD --vectors {stats['output']}", err=True)


