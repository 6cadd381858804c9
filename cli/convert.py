"""``seqlab convert``: turn a seqlab 0.1 model or checkpoint (a pickle) into the safe file format."""

from __future__ import annotations

import click

from seqlab.cli.common import handle_errors


@click.command("convert")
@click.argument("path", type=click.Path(path_type=str))
@handle_errors
def convert(path: str) -> None:
    """Convert the seqlab 0.1 file PATH (model.pt, last.pt, encoder.pt, OUTPUT.ckpt, a .cooc matrix), or every
    such file of the model directory PATH, to seqlab's safe format (safetensors).

    Reading a pickle can run code hidden in it: convert only files you trust. The converted files load
    without that risk; model.pt becomes model.safetensors beside it, and a .ckpt or .cooc file is
    replaced, its pickle kept as NAME.pickle.
    """
    from seqlab.io import convert_legacy

    for old, new in convert_legacy(path):
        click.echo(f"converted {old} -> {new}")
