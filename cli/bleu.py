"""``seqlab bleu``: corpus or sentence BLEU of a hypothesis file against reference files."""

from __future__ import annotations

import json
import sys

import click

from seqlab.cli.common import device_option, handle_errors, json_option
from seqlab.device import resolve_device, runs_on_cpu
from seqlab.errors import DataError
from seqlab.io import read_lines
from seqlab.metrics.bleu import BLEU, MAX_ORDER, SMOOTH_METHODS, TOKENIZERS


def load_pair(hypothesis: str, references: tuple[str, ...]) -> tuple[list[str], list[list[str]]]:
    """Read the hypothesis file (``-``: stdin) and the reference files; same non-zero line counts."""
    hyps = read_lines("<stdin>", sys.stdin.buffer) if hypothesis == "-" else read_lines(hypothesis)
    name = "<stdin>" if hypothesis == "-" else hypothesis
    if not hyps:
        raise DataError(f"{name}: empty file, no hypotheses")
    refs = []
    for path in references:
        lines = read_lines(path)
        if len(lines) != len(hyps):
            raise DataError(f"{path}: {len(lines)} lines, but the hypotheses ({name}) have {len(hyps)}")
        refs.append(lines)
    return hyps, refs


@click.command("bleu")
@click.argument("hypothesis", type=click.Path(path_type=str, allow_dash=True))
@click.argument("references", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--tokenize", "-tok", type=click.Choice(list(TOKENIZERS)), default="13a", show_default=True,
              help="sacrebleu tokenizer (ja-mecab, ko-mecab and spm need extra installs).")
@click.option("--lowercase", "-lc", is_flag=True, help="Lowercase hypotheses and references.")
@click.option("--smooth", type=click.Choice(list(SMOOTH_METHODS)), default="exp", show_default=True,
              help="Smoothing method (Chen & Cherry 2014).")
@click.option("--smooth-value", type=float, default=None, help="Value for floor (default 0.1) and add-k (1).")
@click.option("--max-order", type=click.IntRange(1, 10), default=MAX_ORDER, show_default=True,
              help="Highest n-gram order.")
@click.option("--sentence", is_flag=True, help="One score a line (sentence BLEU, effective order).")
@click.option("--width", "-w", type=click.IntRange(0, 16), default=2, show_default=True,
              help="Decimals of the printed score.")
@device_option
@json_option
@handle_errors
def bleu(hypothesis: str, references: tuple[str, ...], tokenize: str, lowercase: bool, smooth: str,
         smooth_value: float | None, max_order: int, sentence: bool, width: int, device: str, as_json: bool) -> None:
    """BLEU of HYPOTHESIS (a file, or - for stdin) against one or more REFERENCES files, line by line.

    Prints sacrebleu's report line: score, n-gram precisions, brevity penalty, length ratio,
    lengths and signature. On a GPU the n-gram statistics are counted there from token ids; the
    numbers are the same.
    """
    metric = BLEU(lowercase=lowercase, tokenize=tokenize, smooth_method=smooth, smooth_value=smooth_value,
                  max_order=max_order, effective_order=sentence)
    hyps, refs = load_pair(hypothesis, references)
    scores = metric.scores(hyps, refs, sentence, "cpu" if runs_on_cpu(device) else resolve_device(device))
    for i, score in enumerate(scores, 1):
        line = {"line": i, **score.to_dict()} if sentence else score.to_dict()
        click.echo(json.dumps(line) if as_json else score.format(width))
