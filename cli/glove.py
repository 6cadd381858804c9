"""``seqlab glove``: train GloVe vectors (Pennington et al. 2014)."""

from __future__ import annotations

import json

import click

from seqlab.cli.common import announce_output, default_vectors_output, run_vectors, vectors_options
from seqlab.config import build_config
from seqlab.device import resolve_device
from seqlab.embeddings.glove import GloveConfig, glove_default_corpus


@click.command("train")
@vectors_options(GloveConfig, "TOML config (configs/glove_*.toml); flags override it.", extra=(click.option(
    "--cooc", "cooc_path", type=click.Path(dir_okay=False),
    help="Co-occurrence matrix file: read when it exists (same settings), written otherwise."),))
def train(corpus, output, config_path, cooc_path, checkpoint_path, resume, store_dtype, device, quiet, as_json,
          **settings) -> None:
    """Train GloVe on CORPUS (text, .gz, .bz2 or .xz; one sentence a line or text8-style).

    Without CORPUS, trains on the embedded default: gensim's bundled Lee corpus with
    configs/glove_lee.toml settings (unless --config is given).
    """
    given = output is not None
    output = output or default_vectors_output(corpus, ".glove.bin")
    if corpus is None:
        corpus, default_config = glove_default_corpus()
        config_path = config_path or default_config
    cfg = build_config(GloveConfig, config_path, section="glove", **settings)
    announce_output(output, given)
    if not quiet:
        click.echo(f"seqlab: training GloVe on {corpus} ({resolve_device(device)})", err=True)
    stats = run_vectors(cfg, output, corpus, device, checkpoint_path, resume, quiet, store_dtype, cooc_path=cooc_path)
    summary = {k: stats[k] for k in ("output", "corpus", "vocab_size", "dim")}
    summary.update(nonzero=stats["nnz"], cost=stats["loss"], count_seconds=round(stats["count_seconds"], 2),
                   entries_per_second=round(stats["entries_per_second"]), seconds=round(stats["seconds"], 2),
                   device=stats["device"])
    click.echo(json.dumps(summary) if as_json else
               f"wrote {stats['vocab_size']} x {stats['dim']} vectors to {stats['output']} ({stats['nnz']:,} non-zero "
               f"co-occurrences, counted in {stats['count_seconds']:.1f} s, trained in {stats['seconds']:.1f} s, "
               f"final cost {stats['loss']:.4g})")
