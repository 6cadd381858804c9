"""``seqlab bleu``: BLEU (and chrF, chrF++, TER) of one or several systems, with sacrebleu's significance tests."""

from __future__ import annotations

import json
import sys

import click

from seqlab.cli.common import compute_options, handle_errors, json_option
from seqlab.device import resolve_device, runs_on_cpu
from seqlab.errors import ConfigError, DataError
from seqlab.io import read_lines
from seqlab.metrics.bleu import BLEU, MAX_ORDER, SMOOTH_METHODS, TOKENIZERS

INPUT_OPTIONS = ("-i", "--input")


class SystemsCommand(click.Command):
    """A command whose ``-i/--input`` takes every following word up to the next option, as sacrebleu's
    ``-i SYS1 SYS2 ...`` does (``-i SYS1 -i SYS2`` works too)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        spread, greedy = [], False
        for position, word in enumerate(args):
            if word == "--":
                spread += args[position:]
                break
            if greedy and (word == "-" or not word.startswith("-")):
                spread += ["-i", word]
                continue
            greedy = word in INPUT_OPTIONS and position + 1 < len(args)
            if not greedy:
                spread.append(word)  # a lone -i at the end stays, for Click to report
        return super().parse_args(ctx, spread)


def read_system(path: str) -> list[str]:
    """A hypothesis file's lines (``-``: stdin); DataError when it is empty."""
    lines = read_lines("<stdin>", sys.stdin.buffer) if path == "-" else read_lines(path)
    if not lines:
        raise DataError(f"{'<stdin>' if path == '-' else path}: empty file, no hypotheses")
    return lines


def load_pair(hypothesis: str, references: tuple[str, ...]) -> tuple[list[str], list[list[str]]]:
    """Read the hypothesis file (``-``: stdin) and the reference files; same non-zero line counts."""
    hyps = read_system(hypothesis)
    name = "<stdin>" if hypothesis == "-" else hypothesis
    refs = []
    for path in references:
        lines = read_lines(path)
        if len(lines) != len(hyps):
            raise DataError(f"{path}: {len(lines)} lines, but the hypotheses ({name}) have {len(hyps)}")
        refs.append(lines)
    return hyps, refs


def load_systems(inputs: tuple[str, ...], references: tuple[str, ...], paired: bool
                 ) -> tuple[list[tuple[str, list[str]]], list[list[str]]]:
    """Read the systems given to -i and the reference files: every file as many lines as the first reference.
    In a paired test, a repeat of the baseline is dropped (as sacrebleu, for ``-i base.txt *.txt``)."""
    refs = [read_lines(path) for path in references]
    for path, lines in zip(references[1:], refs[1:], strict=True):
        if len(lines) != len(refs[0]):
            raise DataError(f"{path}: {len(lines)} lines, but {references[0]} has {len(refs[0])}")
    systems: list[tuple[str, list[str]]] = []
    for path in inputs:
        if any(path == name for name, _ in systems):
            if paired and path == systems[0][0]:
                continue
            raise ConfigError(f"system {path!r} is given twice to -i")
        lines = read_system(path)
        if len(lines) != len(refs[0]):
            raise DataError(f"{path}: {len(lines)} lines, but the references ({references[0]}) have {len(refs[0])}")
        systems.append((path, lines))
    return systems, refs


@click.command("bleu", cls=SystemsCommand)
@click.argument("files", nargs=-1, metavar="[HYPOTHESIS] REFERENCES...", type=click.Path(path_type=str,
                                                                                          allow_dash=True))
@click.option("--input", "-i", "inputs", multiple=True, metavar="SYS...",
              help="Systems to compare (files, - for stdin): -i SYS1 SYS2 ... (every word up to the next option) "
                   "or -i SYS1 -i SYS2. Then every positional FILE is a reference; the first system is the "
                   "baseline of the paired tests.")
@click.option("--metrics", "-m", default="bleu", show_default=True,
              help="Comma-separated: bleu, chrf, chrf++ (chrF with word bigrams), ter. chrF and TER are "
                   "sacrebleu's, with its defaults; the BLEU options below apply to BLEU.")
@click.option("--tokenize", "-tok", type=click.Choice(list(TOKENIZERS)), default="13a", show_default=True,
              help="sacrebleu tokenizer (ja-mecab, ko-mecab and spm need extra installs).")
@click.option("--lowercase", "-lc", is_flag=True, help="Lowercase hypotheses and references (BLEU).")
@click.option("--smooth", type=click.Choice(list(SMOOTH_METHODS)), default="exp", show_default=True,
              help="Smoothing method (Chen & Cherry 2014).")
@click.option("--smooth-value", type=float, default=None, help="Value for floor (default 0.1) and add-k (1).")
@click.option("--max-order", type=click.IntRange(1, 10), default=MAX_ORDER, show_default=True,
              help="Highest n-gram order.")
@click.option("--sentence", is_flag=True, help="One score a line (sentence BLEU, effective order).")
@click.option("--paired-bs", "-pbs", is_flag=True,
              help="Paired bootstrap resampling test (Koehn 2004) of every -i system against the first; "
                   "also gives each system's bootstrap mean and 95% CI.")
@click.option("--paired-ar", "-par", is_flag=True,
              help="Paired approximate randomization test (Riezler & Maxwell 2005) against the first system.")
@click.option("--paired-bs-n", "-pbsn", type=click.IntRange(1), default=1000, show_default=True,
              help="Bootstrap resamples of --paired-bs.")
@click.option("--paired-ar-n", "-parn", type=click.IntRange(1), default=10000, show_default=True,
              help="Trials of --paired-ar.")
@click.option("--confidence", "-ci", is_flag=True,
              help="Bootstrap mean and 95% confidence interval of each score (with --paired-ar too; "
                   "--paired-bs always gives them).")
@click.option("--confidence-n", "-cin", type=click.IntRange(1), default=1000, show_default=True,
              help="Bootstrap resamples of --confidence.")
@click.option("--seed", type=int, default=12345, show_default=True,
              help="Seed of the resampling (numpy's generator, as sacrebleu's SACREBLEU_SEED: the same draws).")
@click.option("--width", "-w", type=click.IntRange(0, 16), default=2, show_default=True,
              help="Decimals of the printed score.")
@compute_options
@json_option
@handle_errors
def bleu(files: tuple[str, ...], inputs: tuple[str, ...], metrics: str, tokenize: str, lowercase: bool, smooth: str,
         smooth_value: float | None, max_order: int, sentence: bool, paired_bs: bool, paired_ar: bool,
         paired_bs_n: int, paired_ar_n: int, confidence: bool, confidence_n: int, seed: int, width: int, device: str,
         as_json: bool) -> None:
    """BLEU of HYPOTHESIS (a file, or - for stdin) against one or more REFERENCES files, line by line.

    \b
    With -i, every positional file is a reference and the systems follow -i:
        seqlab bleu REF... -i SYS1 SYS2 ... --metrics bleu,chrf,ter --paired-bs

    Prints sacrebleu's report line: score, n-gram precisions, brevity penalty, length ratio,
    lengths and signature (one line per metric). Several systems print sacrebleu's table: each
    metric's score, with --paired-bs/--paired-ar the bootstrap mean ± 95% CI and the p-value against the
    first system (* when p <= 0.05). The numbers equal sacrebleu's for the same seed; the resampling runs
    vectorised, in numpy on the CPU and in torch on a GPU (--device).
    """
    from seqlab.metrics.evaluate import parse_metrics

    keys = parse_metrics(metrics)
    if paired_bs and paired_ar:
        raise ConfigError("--paired-bs and --paired-ar exclude each other: choose one test")
    test = "bs" if paired_bs else "ar" if paired_ar else None
    if inputs:
        references = files
        if not references:
            raise click.UsageError("Missing argument 'REFERENCES...' (with -i, every positional file is a reference).")
    elif len(files) < 2:
        raise click.UsageError("Missing argument 'REFERENCES...'.")
    else:
        inputs, references = files[:1], files[1:]
    metric = BLEU(lowercase=lowercase, tokenize=tokenize, smooth_method=smooth, smooth_value=smooth_value,
                  max_order=max_order, effective_order=sentence)
    if sentence and (len(inputs) > 1 or test or confidence or keys != ["bleu"]):
        raise ConfigError("--sentence scores one system on BLEU only (no -i list, --metrics, --paired-* or "
                          "--confidence)")
    if test and len(set(inputs)) < 2:
        raise ConfigError(f"--paired-{test} needs two or more systems: seqlab bleu REF... -i BASELINE SYS...")

    if len(inputs) == 1 and keys == ["bleu"] and not confidence:  # the classic report, without torch on a CPU
        hyps, refs = load_pair(inputs[0], references)
        scores = metric.scores(hyps, refs, sentence, "cpu" if runs_on_cpu(device) else resolve_device(device))
        for i, score in enumerate(scores, 1):
            line = {"line": i, **score.to_dict()} if sentence else score.to_dict()
            click.echo(json.dumps(line) if as_json else score.format(width))
        return

    from seqlab.metrics.evaluate import evaluate_systems

    if len(inputs) == 1:
        hyps, refs = load_pair(inputs[0], references)
        systems = [("<stdin>" if inputs[0] == "-" else inputs[0], hyps)]
    else:
        systems, refs = load_systems(inputs, references, test is not None)
    n_samples = paired_bs_n if test == "bs" else paired_ar_n if test == "ar" else None
    result = evaluate_systems(systems, refs, keys, test, n_samples, seed,
                              confidence_n if confidence and test != "bs" else 0, metric, device)
    if len(systems) == 1:
        for key in result.metrics:
            click.echo(json.dumps(result.metric_dict(key, 0)) if as_json else result.line(key, 0, width))
    else:
        click.echo(json.dumps(result.to_dict()) if as_json else result.table(width))
