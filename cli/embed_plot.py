"""``seqlab embed plot`` and ``seqlab embed plot-bias``: pictures of word vectors (needs matplotlib)."""

from __future__ import annotations

import click

from seqlab.cli.common import compute_options, handle_errors
from seqlab.cli.debias import lists_option
from seqlab.cli.embed_bias import split_words
from seqlab.device import resolve_device
from seqlab.embeddings.bias import DEFAULT_WORDS, projections
from seqlab.embeddings.debias import gender_direction, hard_debias
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.plot import PLOT_METHODS, plot_bias, plot_words
from seqlab.embeddings.word_lists import definitional_pairs, load_gender_lists
from seqlab.errors import ConfigError
from seqlab.io import check_writable


@click.command("plot")
@click.argument("vectors", type=click.Path(path_type=str))
@click.option("--words", help="Comma-separated words to plot.")
@click.option("--top", type=click.IntRange(min=3), help="Plot the N most frequent words instead.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Figure (.png, .pdf, .svg).")
@click.option("--method", type=click.Choice(PLOT_METHODS), default="tsne", show_default=True,
              help="2-D projection: t-SNE or PCA (scikit-learn).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the projection.")
@compute_options
@handle_errors
def plot_command(vectors: str, words: str | None, top: int | None, output: str, method: str, seed: int,
                 device: str) -> None:
    """Draw a labelled 2-D map of some words of VECTORS (--words w1,w2,... or --top N)."""
    if (words is None) == (top is None):
        raise ConfigError("give either --words w1,w2,... or --top N")
    check_writable(output)
    kv = KeyedVectors.load(vectors).to(resolve_device(device))
    chosen = split_words(words) or kv.words[:top]
    path, missing = plot_words(kv, chosen, output, method, seed)
    if missing:
        click.echo(f"seqlab: not in the vocabulary, left out: {', '.join(missing)}", err=True)
    click.echo(f"wrote {path}")


@click.command("plot-bias")
@click.argument("vectors", type=click.Path(path_type=str))
@click.option("--debiased", type=click.Path(path_type=str),
              help="The debiased vectors (seqlab debias output). Default: hard-debias VECTORS now (needs the lists).")
@click.option("--words", help="Comma-separated words.  [default: some professions, she, he, woman, man]")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Figure (.png, .pdf, .svg).")
@lists_option
@compute_options
@handle_errors
def plot_bias_command(vectors: str, debiased: str | None, words: str | None, output: str, lists_dir: str | None,
                      device: str) -> None:
    """Draw each word's projection on the gender direction of VECTORS, before and after debiasing."""
    dev = resolve_device(device)
    check_writable(output)
    kv = KeyedVectors.load(vectors).to(dev)
    g = gender_direction(kv, definitional_pairs()).direction
    if debiased is not None:
        after_kv = KeyedVectors.load(debiased).to(dev)
    else:
        after_kv, _ = hard_debias(kv, load_gender_lists(lists_dir), dev)
        after_kv.to(dev)
    chosen = split_words(words) or list(DEFAULT_WORDS)
    before = projections(kv, g, chosen)
    path = plot_bias(before, output, projections(after_kv, g, list(before)))
    click.echo(f"wrote {path}")
