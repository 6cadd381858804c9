"""``seqlab embed bias``: gender-bias measures of a set of word vectors."""

from __future__ import annotations

import json

import click

from seqlab.cli.common import compute_options, handle_errors, json_option
from seqlab.cli.debias import lists_option
from seqlab.device import resolve_device
from seqlab.embeddings.bias import bias_report
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word_lists import load_gender_lists


def split_words(text: str | None) -> list[str] | None:
    """``a,b, c`` -> [a, b, c]; None stays None."""
    return [w.strip() for w in text.split(",") if w.strip()] if text else None


@click.command("bias")
@click.argument("vectors", type=click.Path(path_type=str))
@lists_option
@click.option("--reference", type=click.Path(path_type=str),
              help="The vectors before debiasing: their gender direction and cluster labels are used.")
@click.option("--words", help="Comma-separated words whose projection on the gender direction to print.")
@click.option("--weat", "tests", multiple=True, help="WEAT test (repeatable): career_family, math_arts, science_arts.")
@click.option("--cluster-words", type=click.IntRange(min=2), default=500, show_default=True,
              help="Most male- and most female-biased words each in the clustering test.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of k-means.")
@compute_options
@json_option
@handle_errors
def bias_command(vectors: str, lists_dir: str | None, reference: str | None, words: str | None, tests: tuple[str, ...],
                 cluster_words: int, seed: int, device: str, as_json: bool) -> None:
    """Print DirectBias, projections, "she - he" analogy pairs, WEAT and the clustering test for VECTORS."""
    lists = load_gender_lists(lists_dir)
    dev = resolve_device(device)
    kv = KeyedVectors.load(vectors).to(dev)
    ref = KeyedVectors.load(reference).to(dev) if reference else None
    report = bias_report(kv, lists, ref, split_words(words), list(tests) or None, cluster_words, seed=seed)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    ratios = ", ".join(f"{r:.3f}" for r in report["gender_direction"]["explained_variance_ratio"][:5])
    click.echo(f"vectors      {vectors} ({report['vocab_size']} words x {report['dim']} dims)"
               + (f", direction and labels from {reference}" if reference else ""))
    click.echo(f"direction    explained variance ratios {ratios}, ...")
    click.echo(f"DirectBias   {report['direct_bias']:.4f} (c = 1, {report['direct_bias_words']} professions)")
    click.echo("projections  " + "  ".join(f"{w} {v:+.3f}" for w, v in report["projections"].items()))
    click.echo("she - he     " + "  ".join(f"{p['she']}:{p['he']}" for p in report["she_he_analogies"]))
    for name, result in report["weat"].items():
        if result["effect_size"] is None:
            click.echo(f"WEAT         {name}: skipped ({result['skipped']})")
            continue
        click.echo(f"WEAT         {name}: effect size {result['effect_size']:+.3f}, p = {result['p_value']:.4f}"
                   + (f" ({len(result['missing'])} words missing)" if result["missing"] else ""))
    click.echo(f"clustering   accuracy {report['cluster_accuracy']:.3f} on {report['cluster_words']} words "
               "(Gonen & Goldberg 2019; 0.5 = no gender left)")
