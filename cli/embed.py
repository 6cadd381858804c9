"""``seqlab embed``: train and evaluate word embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import click

from seqlab.cli.common import config_flags, device_option, fail, handle_errors, quiet_option
from seqlab.cli.embed_bias import bias_command
from seqlab.cli.embed_eval import eval_command
from seqlab.cli.embed_plot import plot_bias_command, plot_command
from seqlab.config import build_config
from seqlab.device import resolve_device
from seqlab.embeddings.word2vec import Word2VecConfig, train_word2vec
from seqlab.embeddings.word2vec_io import default_corpus, save_trained
from seqlab.io import check_readable, check_writable, claim_output
from seqlab.training import discard_checkpoint, interrupted_message, last_checkpoint


@click.group()
def embed() -> None:
    """Train, store and evaluate word embeddings."""


@embed.command("train")
@click.argument("corpus", required=False, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Vectors to write: .txt word2vec text, .bin word2vec binary, anything else a native directory.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="TOML config (configs/); flags override it.")
@config_flags(Word2VecConfig)
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False),
              help="Checkpoint file.  [default: OUTPUT.last.safetensors]")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint (an error when there is none).")
@click.option("--store-dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="Dtype of a native output (float16 halves the size).")
@device_option
@quiet_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@handle_errors
def train(corpus, output, config_path, checkpoint_path, resume, store_dtype, device, quiet, as_json,
          **settings) -> None:
    """Train word2vec on CORPUS (text, .gz, .bz2 or .xz; one sentence a line or text8-style).

    Without CORPUS, trains on the embedded default: gensim's bundled Lee corpus with
    configs/word2vec_lee.toml settings (unless --config is given).
    """
    if corpus is None:
        corpus, default_config = default_corpus()
        config_path = config_path or default_config
    cfg = build_config(Word2VecConfig, config_path, section="word2vec", **settings)
    dev = resolve_device(device)
    ckpt = checkpoint_path or last_checkpoint(output)
    check_readable(corpus)  # a missing corpus is reported before anything else is said
    with claim_output(output, directory=None):  # writable, and no other run writes it
        if checkpoint_path and not Path(checkpoint_path).exists():
            check_writable(checkpoint_path)
        if not quiet:
            click.echo(f"seqlab: training word2vec {cfg.model}-{cfg.loss} on {corpus} ({dev})", err=True)
        try:
            kv, stats = train_word2vec(corpus, cfg, dev, checkpoint_path=ckpt, resume=resume, quiet=quiet)
        except KeyboardInterrupt:
            fail(interrupted_message(ckpt), 130)
        path = save_trained(kv, stats["config"], output, store_dtype)  # a resumed run keeps its checkpoint's config
        discard_checkpoint(ckpt)
    summary = {"output": str(path), "corpus": str(corpus), "vocab_size": len(kv), "dim": kv.vector_size,
               "words_per_second": round(stats["words_per_second"]), "seconds": round(stats["seconds"], 2),
               "device": str(dev)}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {len(kv)} x {kv.vector_size} vectors to {path} "
                   f"({stats['words_per_second']:,.0f} words/s, {stats['seconds']:.1f} s)")


embed.add_command(eval_command)
embed.add_command(bias_command)
embed.add_command(plot_command)
embed.add_command(plot_bias_command)
