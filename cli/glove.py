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

    The vectors go to OUTPUT in the format its name says: word2vec text (.txt, .vec) or binary (.bin),
    GloVe text as Stanford's glove.c writes it (.glove: no header line), or a seqlab directory; --model
    says what they are (glove.c's -model): 2, w + w~ (the default); 1, w (--word-only); 0, every
    parameter, a line 'word w b w~ b~' (by default into CORPUS.glove).
    """
    given = output is not None
    name = corpus
    if corpus is None:
        corpus, default_config = glove_default_corpus()
        config_path = config_path or default_config
    cfg = build_config(GloveConfig, config_path, section="glove", **settings)
    # --model 0 is glove.c's full text output, for other tools: GloVe text (no header) unless -o says otherwise
    output = output or default_vectors_output(name, ".glove" if cfg.output_model == 0 else ".glove.bin")
    announce_output(output, given)
    if not quiet:
        click.echo(f"seqlab: training GloVe on {corpus} ({resolve_device(device)})", err=True)
    stats = run_vectors(cfg, output, corpus, device, checkpoint_path, resume, quiet, store_dtype, cooc_path=cooc_path)
    summary = {k: stats[k] for k in ("output", "corpus", "vocab_size", "dim")}
    summary.update(nonzero=stats["nnz"], cost=stats["loss"], count_seconds=round(stats["count_seconds"], 2),
                   entries_per_second=round(stats["entries_per_second"]), seconds=round(stats["seconds"], 2),
                   device=stats["device"])
    summary["model"] = stats["config"].output_model
    what = " (glove.c's -model 0: w, b, w~, b~ side by side)" if summary["model"] == 0 else ""
    click.echo(json.dumps(summary) if as_json else
               f"wrote {stats['vocab_size']} x {stats['dim']} vectors{what} to {stats['output']} "
               f"({stats['nnz']:,} non-zero co-occurrences, counted in {stats['count_seconds']:.1f} s, trained in "
               f"{stats['seconds']:.1f} s, final cost {stats['loss']:.4g})")
