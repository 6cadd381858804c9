"""``seqlab analogy`` and ``seqlab similar``: nearest words from a set of word vectors.

On the CPU (``--device cpu``, or ``auto`` on a machine without CUDA) they query a numpy
:class:`~seqlab.embeddings.nearest.VectorIndex` and never import torch, so an answer comes as soon as
the vectors are read; on a GPU, the same queries run on :class:`KeyedVectors`.
"""

from __future__ import annotations

import json

import click

from seqlab.cli.common import device_option, handle_errors, json_option
from seqlab.device import runs_on_cpu
from seqlab.embeddings.nearest import Queries, VectorIndex

vectors_option = click.option(
    "--vectors", "vectors_path", type=click.Path(path_type=str), default=None,
    help="Vectors: a seqlab vectors directory, word2vec .txt/.vec/.bin, or GloVe text (.txt, .glove; no header). "
         "Default: the shipped vectors.",
)  # fmt: skip
topn_option = click.option(
    "-n", "--topn", type=click.IntRange(min=1), default=10, show_default=True, help="How many words to print."
)


def load_vectors(path: str | None, device: str) -> Queries:
    """The vectors at ``path`` (the shipped default when None), queried on ``device``."""
    if runs_on_cpu(device):
        return VectorIndex.load(path) if path else VectorIndex.load_default()
    from seqlab.device import resolve_device
    from seqlab.embeddings.keyed_vectors import KeyedVectors, load_default_vectors

    cuda = resolve_device(device)  # before reading the vectors: --device cuda without CUDA fails at once
    return (KeyedVectors.load(path) if path else load_default_vectors()).to(cuda)


def print_neighbours(neighbours: list[tuple[str, float]], as_json: bool) -> None:
    """``word<TAB>score`` lines, best first, or one JSON list of {"word", "score"}."""
    if as_json:
        click.echo(
            json.dumps([{"word": word, "score": score} for word, score in neighbours], ensure_ascii=False)
        )
    else:
        for word, score in neighbours:
            click.echo(f"{word}\t{score:.4f}")


@click.command()
@click.argument("a")
@click.argument("b")
@click.argument("c")
@vectors_option
@topn_option
@click.option(
    "--method", type=click.Choice(["add", "mul"]), default="add", show_default=True,
    help="add: 3CosAdd (Mikolov et al. 2013); mul: 3CosMul (Levy & Goldberg 2014).",
)  # fmt: skip
@device_option
@json_option
@handle_errors
def analogy(
    a: str, b: str, c: str, vectors_path: str | None, topn: int, method: str, device: str, as_json: bool
) -> None:
    """Print the words nearest to A - B + C (king man woman -> queen), best first."""
    kv = load_vectors(vectors_path, device)
    print_neighbours(kv.analogy(a, b, c, topn=topn, method=method), as_json)


@click.command()
@click.argument("word")
@vectors_option
@topn_option
@device_option
@json_option
@handle_errors
def similar(word: str, vectors_path: str | None, topn: int, device: str, as_json: bool) -> None:
    """Print the words nearest to WORD by cosine similarity, best first."""
    kv = load_vectors(vectors_path, device)
    print_neighbours(kv.similar_by_word(word, topn=topn), as_json)
