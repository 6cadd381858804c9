"""``seqlab convert``: turn a seqlab 0.1 model or checkpoint (a pickle) into the safe file format, or word
vectors from one file format into another (word2vec text or binary, GloVe text, a seqlab directory)."""

from __future__ import annotations

import click

from seqlab.cli.common import handle_errors
from seqlab.embeddings.vectors_io import FORMAT_NAMES, FORMATS, convert_vectors, format_of

FORMATS_HELP = "text: word2vec text; bin: word2vec binary; glove: GloVe text (no header line); native: a seqlab " \
    "directory"


@click.command("convert")
@click.argument("path", type=click.Path(path_type=str))
@click.option("-o", "--output", type=click.Path(path_type=str),
              help="Convert the word vectors PATH into OUTPUT (format from --to or OUTPUT's name).")
@click.option("--from", "source_format", type=click.Choice(FORMATS),
              help=f"Format of the vectors PATH ({FORMATS_HELP}).  [default: from its name; a text file is word2vec "
                   "or GloVe by its first line]")
@click.option("--to", "target_format", type=click.Choice(FORMATS),
              help="Format of OUTPUT.  [default: from its name: .txt/.vec text, .bin bin, .glove glove (each maybe "
                   ".gz/.bz2/.xz), anything else native]")
@click.option("--store-dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="Dtype of a native OUTPUT (float16 halves the size).")
@handle_errors
def convert(path: str, output: str | None, source_format: str | None, target_format: str | None,
            store_dtype: str) -> None:
    """Convert the seqlab 0.1 file PATH (model.pt, last.pt, encoder.pt, OUTPUT.ckpt, a .cooc matrix), or every
    such file of the model directory PATH, to seqlab's safe format (safetensors); with -o, word vectors.

    Reading a pickle can run code hidden in it: convert only files you trust. The converted files load
    without that risk; model.pt becomes model.safetensors beside it, and a .ckpt or .cooc file is
    replaced, its pickle kept as NAME.pickle.

    With -o OUTPUT, PATH is word vectors instead, written to OUTPUT in another format: word2vec text
    or binary (as word2vec.c and gensim write them), GloVe text (as Stanford's glove.c writes it: no
    header line), or a seqlab directory. For example `seqlab convert glove.6B.50d.txt -o glove.6B.50d.bin`,
    or `seqlab convert vectors.bin -o vectors.txt --to glove`. A one-dimensional GloVe file needs
    --from glove (its first row looks like a word2vec header).
    """
    if output is None:
        if source_format or target_format or store_dtype != "float32":
            raise click.UsageError("--from, --to and --store-dtype convert word vectors: give -o OUTPUT")
        from seqlab.io import convert_legacy

        for old, new in convert_legacy(path):
            click.echo(f"converted {old} -> {new}")
        return
    words, matrix, _ = convert_vectors(path, output, source_format, target_format, store_dtype)
    click.echo(f"converted {len(words)} x {matrix.shape[1]} vectors: {path} -> {output} "
               f"({FORMAT_NAMES[format_of(output, target_format)]})")
