"""``seqlab glove``: train GloVe vectors (Pennington et al. 2014)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from seqlab.cli.common import config_flags, device_option, fail, handle_errors, json_option, quiet_option
from seqlab.config import build_config
from seqlab.device import resolve_device
from seqlab.embeddings.glove import GloveConfig, glove_default_corpus, train_glove
from seqlab.embeddings.word2vec_io import save_trained
from seqlab.io import check_readable, check_writable, claim_output
from seqlab.training import discard_checkpoint, interrupted_message, last_checkpoint


@click.group()
def glove() -> None:
    """Train GloVe word vectors from co-occurrence counts."""


@glove.command("train")
@click.argument("corpus", required=False, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Vectors to write: .txt word2vec text, .bin word2vec binary, anything else a native directory.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="TOML config (configs/glove_*.toml); flags override it.")
@config_flags(GloveConfig)
@click.option("--cooc", "cooc_path", type=click.Path(dir_okay=False),
              help="Co-occurrence matrix file: read when it exists (same settings), written otherwise.")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False),
              help="Checkpoint file.  [default: OUTPUT.last.safetensors]")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint (an error when there is none).")
@click.option("--store-dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="Dtype of a native output (float16 halves the size).")
@device_option
@quiet_option
@json_option
@handle_errors
def train(corpus, output, config_path, cooc_path, checkpoint_path, resume, store_dtype, device, quiet, as_json,
          **settings) -> None:
    """Train GloVe on CORPUS (text, .gz, .bz2 or .xz; one sentence a line or text8-style).

    Without CORPUS, trains on the embedded default: gensim's bundled Lee corpus with
    configs/glove_lee.toml settings (unless --config is given).
    """
    if corpus is None:
        corpus, default_config = glove_default_corpus()
        config_path = config_path or default_config
    cfg = build_config(GloveConfig, config_path, section="glove", **settings)
    dev = resolve_device(device)
    ckpt = checkpoint_path or last_checkpoint(output)
    check_readable(corpus)  # a missing corpus is reported before anything else is said
    with claim_output(output, directory=None):  # writable, and no other run writes it
        for extra in (checkpoint_path, cooc_path):
            if extra and not Path(extra).exists():
                check_writable(extra)
        if not quiet:
            click.echo(f"seqlab: training GloVe on {corpus} ({dev})", err=True)
        try:
            kv, stats = train_glove(corpus, cfg, dev, checkpoint_path=ckpt, resume=resume, quiet=quiet,
                                    cooc_path=cooc_path)
        except KeyboardInterrupt:
            fail(interrupted_message(ckpt), 130)
        path = save_trained(kv, stats["config"], output, store_dtype, section="glove")
        discard_checkpoint(ckpt)
    summary = {"output": str(path), "corpus": str(corpus), "vocab_size": len(kv), "dim": kv.vector_size,
               "nonzero": stats["nnz"], "cost": stats["loss"], "count_seconds": round(stats["count_seconds"], 2),
               "entries_per_second": round(stats["entries_per_second"]), "seconds": round(stats["seconds"], 2),
               "device": str(dev)}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {len(kv)} x {kv.vector_size} vectors to {path} ({stats['nnz']:,} non-zero co-occurrences, "
                   f"counted in {stats['count_seconds']:.1f} s, trained in {stats['seconds']:.1f} s, "
                   f"final cost {stats['loss']:.4g})")
