"""``seqlab seq2seq train|eval|analyze`` and ``seqlab translate``."""

from __future__ import annotations

import dataclasses
import json
import lzma
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import click
from click.core import ParameterSource

from seqlab.cli.common import (
    command_config,
    compute_options,
    fail,
    handle_errors,
    json_option,
    run_training,
    training_options,
)
from seqlab.device import resolve_device
from seqlab.errors import ConfigError, DataError
from seqlab.io import check_writable, decode_utf8, open_binary, read_lines
from seqlab.seq2seq.config import Seq2SeqConfig
from seqlab.seq2seq.data import read_parallel
from seqlab.seq2seq.dates import doubt
from seqlab.seq2seq.search import Decoding
from seqlab.seq2seq.translate import Translator, default_model_path

SECTION = "seq2seq"


@click.command("train")
@training_options(Seq2SeqConfig, "seq2seq_model", "TOML settings (configs/*.toml).")
def train_command(config_path: str | None, output: str, sets: tuple[str, ...], resume: bool, device: str,
                  quiet: bool, as_json: bool, **overrides) -> None:
    """Train a model with the settings of --config (flags override them); the best model goes to OUTPUT."""
    from seqlab.seq2seq.train import LAST_FILE, train_seq2seq

    cfg = command_config(Seq2SeqConfig, SECTION, config_path, sets, overrides)
    run_training(train_seq2seq, cfg, output, LAST_FILE, resume=resume, device=device, quiet=quiet, as_json=as_json,
                 start=lambda target: f"training seq2seq ({cfg.task}, {cfg.cell}, {cfg.attention} attention) on "
                                      f"{target} -> {output}",
                 report=_train_report)


def _train_report(summary: dict) -> str:
    """The last line of ``seq2seq train``: the best model's validation score(s), and where the models are."""
    chrf = f", chrF {summary['best_valid_chrf']:.2f}" if summary.get("valid_metric") == "chrf" else ""
    average = f"; average of the last epochs: {summary['average']}" if summary.get("average") else ""
    return (f"best validation BLEU {summary['best_valid_bleu']:.2f}{chrf} after {summary['epochs']} epochs; "
            f"model: {summary['model']}{average}")


def _eval_data(translator: Translator, src: str | None, ref: str | None, size: int) -> tuple[list[str], list[str]]:
    if src and ref:
        return read_parallel(src, ref)
    if src or ref:
        raise ConfigError("give both --src and --ref (or neither, for a generated dates test set)")
    cfg = translator.cfg
    if cfg.task != "dates":
        raise ConfigError("--src and --ref are needed for a model not trained on the dates task")
    from seqlab.seq2seq.dates import held_out

    return held_out(size, cfg.seed + 1000, cfg.seed, cfg.train_size + cfg.valid_size)


size_option = click.option("--size", type=click.IntRange(1), default=1000, show_default=True,
                           help="Dates task: generated test pairs.")
model_option = click.option("--model", "model_paths", type=click.Path(path_type=str), multiple=True,
                            help="Model directory (default: the shipped dates model); repeat it to decode with "
                                 "an ensemble of models that share their subword vocabularies.")


def _load(model_paths: tuple[str, ...], device: str, rerank: tuple[str, ...] = (),
          rerank_weight: float = 0.5) -> Translator:
    translator = Translator.load_ensemble(list(model_paths) or [default_model_path()], resolve_device(device))
    if rerank:
        translator.set_rerankers([Translator.load(path, translator.device) for path in rerank], rerank_weight)
    return translator


rerank_option = click.option("--rerank", "rerank_paths", type=click.Path(path_type=str), multiple=True,
                             help="Rerank the beam's hypotheses with this model too (repeatable), e.g. a "
                                  "right-to-left model (reverse_target = true) of the same language pair.")
rerank_weight_option = click.option("--rerank-weight", type=click.FloatRange(0, 1), default=0.5, show_default=True,
                                    help="The rerankers' share w of the score ((1 - w) log P + w mean_k log P_k) "
                                         "/ length penalty.")


beam_option = click.option("--beam", type=click.IntRange(1, 1000), default=5, show_default=True, help="Beam size.")
alpha_option = click.option("--alpha", type=float, default=None,
                            help="Length-normalisation exponent (default: the model's, 0.7).")
beta_option = click.option("--beta", type=click.FloatRange(min=0), default=None,
                           help="Coverage-penalty weight of beam search (Wu et al. 2016; default: the model's, 0).")

# the decoding settings beyond the beam's: their help, type and shown default come from the Decoding fields
CONTROL_FLAGS = {"sample": "--sample", "temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p",
                 "sample_seed": "--seed", "min_len": "--min-len", "no_repeat_ngram": "--no-repeat-ngram",
                 "replace_unk": "--replace-unk"}


def decoding_controls(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options --sample, --temperature, --top-k, --top-p, --seed, --min-len, --no-repeat-ngram and
    --replace-unk, passed to the command as keywords named after their Decoding fields (None: not given, the
    model's setting stands)."""
    fields = {f.name: f for f in dataclasses.fields(Decoding)}
    for name, flag in reversed(CONTROL_FLAGS.items()):
        default, text = fields[name].default, fields[name].metadata["help"]
        if isinstance(default, bool):
            func = click.option(flag, name, is_flag=True, default=None, help=text)(func)
        else:
            func = click.option(flag, name, type=type(default), default=None,
                                help=f"{text}  [default: {default:g}]")(func)
    return func


prefix_option = click.option("--prefix", "prefix_path", type=click.Path(path_type=str),
                             help="Target prefixes, one a line, aligned with the input lines: each output begins "
                                  "with its line's (an empty line: none).")


def _given(controls: dict[str, object]) -> dict[str, object]:
    return {name: value for name, value in controls.items() if value is not None}


def _beam(beam: int, nbest: int, controls: dict[str, object]) -> int:
    """--beam; when sampling without --beam, --nbest: that many samples a line."""
    given = click.get_current_context().get_parameter_source("beam") is not ParameterSource.DEFAULT
    return beam if given or not controls.get("sample") else nbest


def _prefixes(path: str | None, count: int, inputs: str) -> list[str] | None:
    """The lines of --prefix, one per input line; ConfigError naming the file when the counts differ."""
    if path is None:
        return None
    prefixes = [line.rstrip("\r") for line in read_lines(path)]
    if len(prefixes) != count:
        raise ConfigError(f"{path}: {len(prefixes)} prefix lines, but {inputs} has {count} lines; give one target "
                          f"prefix a line (an empty line for none)")
    return prefixes


@click.command("eval")
@model_option
@click.option("--src", type=click.Path(path_type=str), help="Source sentences, one a line.")
@click.option("--ref", type=click.Path(path_type=str), help="Reference translations, one a line.")
@size_option
@click.option("--output", "-o", type=click.Path(path_type=str), help="Also write the translations here.")
@beam_option
@alpha_option
@beta_option
@decoding_controls
@prefix_option
@rerank_option
@rerank_weight_option
@compute_options
@json_option
@handle_errors
def eval_command(model_paths: tuple[str, ...], src: str | None, ref: str | None, size: int, output: str | None,
                 beam: int, alpha: float | None, beta: float | None, prefix_path: str | None,
                 rerank_paths: tuple[str, ...], rerank_weight: float, device: str, as_json: bool,
                 **controls: object) -> None:
    """BLEU (sacrebleu-exact, with its signature) and exact match of a model's translations."""
    from seqlab.io import atomic_open
    from seqlab.seq2seq.analyze import evaluate

    if output:
        check_writable(output)
    controls = _given(controls)
    beam = _beam(beam, 1, controls)
    translator = _load(model_paths, device, rerank_paths, rerank_weight)
    sources, references = _eval_data(translator, src, ref, size)
    prefixes = _prefixes(prefix_path, len(sources), src or "the generated test set")
    if prefixes is not None:
        controls["prefixes"] = prefixes
    result, hyps = evaluate(translator, sources, references, beam=beam, alpha=alpha, beta=beta, **controls)
    if output:
        with atomic_open(output) as fh:
            fh.write("".join(h + "\n" for h in hyps))
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo(result.report)
        click.echo(f"exact match {100 * result.exact_match:.2f}% of {result.sentences} sentences")


@click.command("analyze")
@model_option
@click.option("--src", type=click.Path(path_type=str), help="Source sentences, one a line.")
@click.option("--ref", type=click.Path(path_type=str), help="Reference translations, one a line.")
@size_option
@click.option("--examples", type=int, default=5, show_default=True, help="Wrong sentences to show.")
@beam_option
@alpha_option
@beta_option
@compute_options
@json_option
@handle_errors
def analyze_command(model_paths: tuple[str, ...], src: str | None, ref: str | None, size: int, examples: int, beam: int,
                    alpha: float | None, beta: float | None, device: str, as_json: bool) -> None:
    """Is each error the search's fault (the model prefers the reference) or the model's?"""
    from seqlab.seq2seq.analyze import error_analysis

    translator = _load(model_paths, device)
    sources, references = _eval_data(translator, src, ref, size)
    report = error_analysis(translator, sources, references, beam=beam, alpha=alpha, beta=beta)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(f"{report['sentences']} sentences, {report['wrong']} wrong (beam {beam}, alpha {report['alpha']})")
    click.echo(f"search errors {report['search_errors']} ({100 * report['search_share']:.1f}%): "
               f"the model scores the reference higher than the output")
    click.echo(f"model errors  {report['model_errors']} ({100 * report['model_share']:.1f}%): "
               f"the model scores its wrong output higher")
    for ex in report["examples"][:examples]:
        click.echo(f"  line {ex['line']} [{ex['error']}] {ex['source']!r} -> {ex['output']!r} "
                   f"(reference {ex['reference']!r}; scores {ex['output_score']:.3f} vs {ex['reference_score']:.3f})")


@click.command("average")
@click.argument("models", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="Model directory to write (OUTPUT/model.safetensors, OUTPUT/config.toml).")
@compute_options
@json_option
@handle_errors
def average_command(models: tuple[str, ...], output: str, device: str, as_json: bool) -> None:
    """Average the weights of MODELS (model directories, model files or last.safetensors checkpoints of one model)
    into one model."""
    from seqlab.seq2seq.average import average_models

    summary = average_models(models, output, resolve_device(device))
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"the average of {summary['checkpoints']} checkpoints ({summary['parameters']:,} weights): "
                   f"{summary['model']}")


@click.command("translate")
@model_option
@click.option("--input", "input_path", type=click.Path(path_type=str), help="Sentences to translate (default stdin).")
@beam_option
@alpha_option
@beta_option
@click.option("--nbest", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Print the N best translations of each line (with --sample: of its --beam samples, by default "
                   "N): LINE<TAB>SCORE<TAB>TEXT.")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--plot-attention", type=click.Path(path_type=str), help="Write a heatmap of the first line's attention.")
@decoding_controls
@prefix_option
@rerank_option
@rerank_weight_option
@compute_options
@json_option
@handle_errors
def translate(model_paths: tuple[str, ...], input_path: str | None, beam: int, alpha: float | None,
              beta: float | None, nbest: int, batch_size: int, plot_attention: str | None, prefix_path: str | None,
              rerank_paths: tuple[str, ...], rerank_weight: float, device: str, as_json: bool,
              **controls: object) -> None:
    """Translate lines from --input or stdin, one output line per input line.

    Without --model the shipped dates model is used: echo "3 may 1979" | seqlab translate (a line that does
    not look like a date to it gets a warning).
    """
    controls = _given(controls)
    beam = _beam(beam, nbest, controls)
    if nbest > beam:
        raise ConfigError(f"--nbest {nbest} is larger than --beam {beam}")
    if plot_attention:
        check_writable(plot_attention)
    translator = _load(model_paths, device, rerank_paths, rerank_weight)
    failures = 0
    name = input_path or "<stdin>"
    number = 0
    first: tuple[str, str] | None = None
    size = batch_size * 16
    chunks = _input_chunks(input_path, size)
    prefixes = None
    if prefix_path:  # the whole input first: its line count must be the prefix file's
        every = [line for chunk in chunks for line in chunk]
        prefixes = _prefixes(prefix_path, len(every), name)
        chunks = iter([every[i:i + size] for i in range(0, len(every), size)])
    decoding = translator.cfg.decoding(**controls)
    generator = translator.sampling_generator(decoding.sample_seed) if decoding.sample else None  # one stream
    free = not prefixes and not (decoding.sample or decoding.min_len or decoding.no_repeat_ngram)
    for lines in chunks:
        results = translator.translate(lines, beam=beam, alpha=alpha, beta=beta, nbest=nbest, batch_size=batch_size,
                                       prefixes=prefixes[number:number + len(lines)] if prefixes else None,
                                       generator=generator, **controls)
        for line, result in zip((decode_utf8(raw)[0] for raw in lines), results, strict=True):
            number += 1
            # the shipped dates model turns anything into a date (its doubt reads the score of a free search)
            if not model_paths and not result.error and free:
                result.warning = doubt(result.text, result.nbest[0][1], line) or result.warning
            if result.warning:
                click.echo(f"seqlab: warning: {name}: line {number}: {result.warning}", err=True)
            if result.error:
                failures += 1
                click.echo(f"seqlab: error: {name}: line {number}: {result.error}", err=True)
            elif first is None:
                first = (line, result.text)
            if as_json:
                click.echo(json.dumps({"line": number, "source": line, "translation": result.text,
                                       "nbest": [{"text": t, "score": s} for t, s in result.nbest],
                                       "error": result.error, "warning": result.warning}, ensure_ascii=False))
            elif nbest > 1:
                for text, score in result.nbest:
                    click.echo(f"{number}\t{score:.4f}\t{text}")
            else:
                click.echo(result.text)
            sys.stdout.flush()
    if plot_attention and first is not None:
        from seqlab.seq2seq.analyze import plot_attention as draw

        draw(*translator.attention(*first), plot_attention)
        click.echo(f"attention of line 1 written to {plot_attention}", err=True)
    if number == 0:
        fail(f"{name}: no input lines")
    if failures:
        sys.exit(2)


def _input_chunks(input_path: str | None, size: int) -> Iterator[list[bytes]]:
    """The lines of --input (plain or compressed) or stdin as bytes without their line ends, in batches of
    ``size`` (one at a time from a terminal). The translator decodes them, so a line of bad UTF-8 gets an
    error and an empty output line, whether it came from a file or a pipe."""
    if input_path is None:
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        yield from _chunks(stream, size, stream.isatty(), "<stdin>")
        return
    with open_binary(input_path) as stream:
        yield from _chunks(stream, size, False, input_path)


def _chunks(stream: IO, size: int, interactive: bool, name: str) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    try:
        for raw in stream:
            line = raw.encode() if isinstance(raw, str) else raw  # a text stream (no .buffer) gives str
            chunk.append(line.rstrip(b"\r\n"))
            if interactive or len(chunk) >= size:
                yield chunk
                chunk = []
    except (OSError, EOFError, lzma.LZMAError) as exc:  # a damaged .gz or .xz
        raise DataError(f"{name}: cannot read ({exc})") from None
    if chunk:
        yield chunk
