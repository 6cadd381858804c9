"""``seqlab embed eval``: analogy accuracy and word-pair correlation of a set of word vectors."""

from __future__ import annotations

import json

import click

from seqlab.cli.common import compute_options, handle_errors, json_option
from seqlab.device import resolve_device
from seqlab.embeddings.evaluate import (
    AnalogyResult,
    SimilarityResult,
    evaluate_analogies,
    evaluate_similarity,
    gensim_test_data,
)
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import ConfigError

DEFAULT_ANALOGIES = "questions-words.txt"
DEFAULT_SIMILARITY = "wordsim353.tsv"


@click.command("eval")
@click.argument("vectors", type=click.Path(path_type=str))
@click.option(
    "--analogies", "analogy_files", multiple=True, type=click.Path(path_type=str),
    help=f"Analogy file (repeatable). Default when no file option is given: gensim's {DEFAULT_ANALOGIES}.",
)  # fmt: skip
@click.option(
    "--similarity", "similarity_files", multiple=True, type=click.Path(path_type=str),
    help=f"Word-pair file (repeatable). Default when no file option is given: gensim's {DEFAULT_SIMILARITY}.",
)  # fmt: skip
@click.option(
    "--restrict-vocab", type=click.IntRange(min=1), default=300000, show_default=True,
    help="Use only the first N words (the most frequent ones when the vectors are sorted).",
)  # fmt: skip
@click.option(
    "--method", type=click.Choice(["add", "mul"]), default="add", show_default=True,
    help="Analogy objective: 3CosAdd or 3CosMul.",
)  # fmt: skip
@click.option(
    "--delimiter", default="\\t", show_default=True,
    help="Field separator of the --similarity files (\\t is a tab); lines of three space-separated fields "
         "are read too.",
)  # fmt: skip
@click.option("--case-sensitive", is_flag=True, help="Match words as written (default: ignore case, as gensim).")
@click.option("--dummy4unknown", is_flag=True,
              help="Score a word pair with an unknown word 0 instead of skipping it (gensim's dummy4unknown).")
@compute_options
@json_option
@handle_errors
def eval_command(
    vectors: str,
    analogy_files: tuple[str, ...],
    similarity_files: tuple[str, ...],
    restrict_vocab: int,
    method: str,
    delimiter: str,
    case_sensitive: bool,
    dummy4unknown: bool,
    device: str,
    as_json: bool,
) -> None:
    """Evaluate VECTORS on word analogies (accuracy) and word-pair similarity (Spearman, Pearson)."""
    if not analogy_files and not similarity_files:
        analogy_files = (str(gensim_test_data(DEFAULT_ANALOGIES)),)
        similarity_files = (str(gensim_test_data(DEFAULT_SIMILARITY)),)
    kv = KeyedVectors.load(vectors).to(resolve_device(device))
    analogies = [
        evaluate_analogies(kv, f, restrict_vocab=restrict_vocab, method=method) for f in analogy_files
    ]
    delimiter = delimiter.replace("\\t", "\t")
    if not delimiter:
        raise ConfigError("--delimiter is empty: give the character between the fields (\\t for a tab)")
    similarity = [evaluate_similarity(kv, f, delimiter, restrict_vocab, not case_sensitive, dummy4unknown)
                  for f in similarity_files]
    if as_json:
        report = {
            "vectors": vectors,
            "analogies": [r.to_dict() for r in analogies],
            "similarity": [r.to_dict() for r in similarity],
        }
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(
        f"vectors   {vectors}  ({len(kv)} words x {kv.vector_size} dims, restrict_vocab {restrict_vocab})"
    )
    for result in analogies:
        _print_analogies(result)
    for result in similarity:
        _print_similarity(result)


def _print_analogies(result: AnalogyResult) -> None:
    used = result.correct + result.incorrect
    click.echo(
        f"analogies {result.file}\n"
        f"  accuracy {result.accuracy:.4f}  ({result.correct}/{used} correct, {result.skipped} skipped, "
        f"3Cos{result.method.capitalize()})"
    )
    width = max((len(s.section) for s in result.sections), default=0)
    for s in result.sections:
        used = s.correct + s.incorrect
        score = f"{s.accuracy:.4f}" if used else "   n/a"
        click.echo(f"    {s.section:<{width}}  {score}  ({s.correct}/{used})")


def _print_similarity(result: SimilarityResult) -> None:
    click.echo(
        f"similarity {result.file}\n"
        f"  spearman {result.spearman:.4f}  pearson {result.pearson:.4f}  "
        f"({result.pairs_used} pairs used, {result.pairs_skipped} skipped, oov {100 * result.oov_ratio:.1f}%)"
    )
