"""``seqlab debias``: remove the gender direction from word vectors (Bolukbasi et al. 2016)."""

from __future__ import annotations

import json

import click

from seqlab.cli.common import compute_options, handle_errors, json_option
from seqlab.device import resolve_device
from seqlab.embeddings.bias import debias_report
from seqlab.embeddings.debias import METHODS, debias_vectors
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word_lists import load_gender_lists
from seqlab.io import claim_output

lists_option = click.option(
    "--lists", "lists_dir", type=click.Path(file_okay=False, path_type=str),
    help="Directory with Bolukbasi et al.'s equalize_pairs.json, gender_specific_full.json and professions.json "
         "(e.g. ../shared/data/debias). Default: a verified download of tolga-b/debiaswe's lists, cached.",
)  # fmt: skip


@click.command()
@click.argument("vectors", type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Debiased vectors to write (format from the extension, as embed train).")
@click.option("--method", type=click.Choice(METHODS), default="hard", show_default=True,
              help="hard: neutralise and equalise.")
@lists_option
@compute_options
@json_option
@handle_errors
def debias(vectors: str, output: str, method: str, lists_dir: str | None, device: str, as_json: bool) -> None:
    """Debias VECTORS and write them to OUTPUT (unit-length vectors); print what changed."""
    with claim_output(output, directory=None):
        lists = load_gender_lists(lists_dir)
        kv = KeyedVectors.load(vectors).to(resolve_device(device))
        debiased, result = debias_vectors(kv, lists, method, device)
        path = debiased.save(output)
    report = debias_report(kv, debiased, result, lists)
    summary = {"output": str(path), "method": method, **report, "lists": lists.source}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    ratios = ", ".join(f"{r:.3f}" for r in report["explained_variance_ratio"][:5])
    click.echo(f"gender direction: PCA of {report['definitional_pairs']} definitional pairs, "
               f"explained variance ratios {ratios}, ...")
    click.echo(f"neutralised {report['neutralized']} of {len(kv)} words, equalised {len(report['equalized'])} pairs")
    click.echo(f"DirectBias over {report['direct_bias_words']} professions: {report['direct_bias_before']:.4f} -> "
               f"{report['direct_bias_after']:.4f}")
    click.echo(f"wrote {len(debiased)} x {debiased.vector_size} vectors to {path}")
