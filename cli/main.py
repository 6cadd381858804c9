"""The ``seqlab`` entry point: one Click group with a sub-group or command per pipeline."""

from __future__ import annotations

import click

from seqlab import __version__
from seqlab.cli.bleu import bleu
from seqlab.cli.convert import convert
from seqlab.cli.debias import debias
from seqlab.cli.embed import embed
from seqlab.cli.generative import generative
from seqlab.cli.glove import glove
from seqlab.cli.query import analogy, similar
from seqlab.cli.rl import rl
from seqlab.cli.sentiment import sentiment
from seqlab.cli.seq2seq import seq2seq, translate
from seqlab.cli.vision import vision


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqlab")
def main() -> None:
    """seqlab: classic NLP sequence models, faithful to their papers, on CPU and GPU."""


main.add_command(embed)
main.add_command(glove)
main.add_command(debias)
main.add_command(bleu)
main.add_command(seq2seq)
main.add_command(translate)
main.add_command(sentiment)
main.add_command(analogy)
main.add_command(similar)
main.add_command(vision)
main.add_command(generative)
main.add_command(rl)
main.add_command(convert)


if __name__ == "__main__":  # pragma: no cover
    main()
