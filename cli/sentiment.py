"""``seqlab sentiment train|eval|predict``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from seqlab.cli.common import (
    command_config,
    compute_options,
    device_option,
    fail,
    handle_errors,
    json_option,
    run_training,
    training_options,
)
from seqlab.device import resolve_device
from seqlab.errors import DataError
from seqlab.io import check_writable, model_file
from seqlab.sentiment.config import SentimentConfig
from seqlab.sentiment.lm import LMConfig
from seqlab.sentiment.predict import MODEL_FILE, Classifier, default_model_path

SECTION = "sentiment"


@click.command("train")
@training_options(SentimentConfig, "sentiment_model", "TOML settings (configs/sst*.toml).")
def train_command(config_path: str | None, output: str, sets: tuple[str, ...], resume: bool, device: str,
                  quiet: bool, as_json: bool, **overrides) -> None:
    """Train a classifier with the settings of --config (flags override them); the best model goes to OUTPUT."""
    from seqlab.sentiment.train import LAST_FILE, train_sentiment

    cfg = command_config(SentimentConfig, SECTION, config_path, sets, overrides)
    what = cfg.model if cfg.model == "nbow" else f"{'bi' if cfg.bidirectional else ''}{cfg.cell}"
    run_training(train_sentiment, cfg, output, LAST_FILE, resume=resume, device=device, quiet=quiet,
                 as_json=as_json, start=lambda target: f"training sentiment {what} ({cfg.num_classes} classes) on "
                                                       f"{target} -> {output}", report=_report)


def _report(summary: dict) -> str:
    test = f", test accuracy {100 * summary['test_accuracy']:.2f}%" if "test_accuracy" in summary else ""
    return (f"best dev accuracy {100 * summary['best_dev_accuracy']:.2f}% after {summary['epochs']} epochs{test}; "
            f"model: {summary['model']}")


@click.command("pretrain")
@click.argument("imdb_dir", type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, help="The corpus file to write (kept if it exists and more is asked).")
@click.option("--vectors", help="Also train word2vec vectors on the corpus and save them here.")
@click.option("--config", "config_path", help="word2vec settings (default: configs/imdb_vectors.toml).")
@click.option("--encoder", help="Also pretrain a BiLSTM encoder on the corpus as a bidirectional language model "
                                "over the vectors (seqlab.sentiment.lm) and save it here.")
@click.option("--tokens", type=click.IntRange(1), default=LMConfig.tokens, show_default=True,
              help="Words the encoder is trained on.")
@click.option("--hidden-size", type=click.IntRange(1), default=LMConfig.hidden_size, show_default=True)
@click.option("--threads", type=click.IntRange(0), default=1, show_default=True,
              help="CPU threads for the vectors (1: the same vectors at every build; 0: torch's count, faster but "
                   "different each time).")
@click.option("--resume", is_flag=True, help="Continue the interrupted training of the vectors (from "
                                             "VECTORS.last.safetensors) or of the encoder (ENCODER/last.safetensors); "
                                             "an error when there is no checkpoint.")
@device_option
@handle_errors
def pretrain_command(imdb_dir: str, output: str, vectors: str | None, config_path: str | None, encoder: str | None,
                     tokens: int, hidden_size: int, threads: int, resume: bool, device: str) -> None:
    """Write the IMDB reviews in IMDB_DIR (imdb_{unsup,train,test}.tsv.xz) as a tokenised word2vec corpus,
    and with --vectors / --encoder train in-domain vectors and a pretrained encoder on it."""
    from seqlab.sentiment.pretrain import prepare_imdb

    prepare_imdb(imdb_dir, output, vectors, config_path, encoder, LMConfig(tokens=tokens, hidden_size=hidden_size),
                 device, threads, log=lambda m: click.echo(m), resume=resume)


@click.command("eval")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=str))
@click.argument("data", type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["auto", "sst", "tsv", "csv"]), default="auto", show_default=True,
              help="DATA's format: 'LABEL text' (sst), label<TAB>text (tsv) or csv; auto goes by the extension.")
@click.option("--label-column", default="0", show_default=True, help="csv: label column (index or header name).")
@click.option("--text-column", default="1", show_default=True, help="csv: text column (index or header name).")
@click.option("--header", is_flag=True, help="DATA's first line is a header.")
@click.option("--plot", "plot_path", type=click.Path(path_type=str), help="Also draw the confusion matrix here.")
@compute_options
@json_option
@handle_errors
def eval_command(model_path: str, data: str, fmt: str, label_column: str, text_column: str, header: bool,
                 plot_path: str | None, device: str, as_json: bool) -> None:
    """Accuracy, macro-F1, confusion matrix and per-class report of MODEL on labelled DATA."""
    from seqlab.sentiment.data import read_examples
    from seqlab.sentiment.predict import plot_confusion

    if plot_path:
        check_writable(plot_path)
    classifier = Classifier.load(model_path, resolve_device(device))
    examples = read_examples(data, classifier.labels, fmt, label_column, text_column, header,
                             classifier.cfg.lowercase)
    result = classifier.evaluate(examples)
    if plot_path:
        plot_confusion(result, plot_path)
        click.echo(f"confusion matrix drawn in {plot_path}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"accuracy {100 * result.accuracy:.2f}%  macro-F1 {100 * result.macro_f1:.2f}  "
               f"({result.sentences} sentences)")
    click.echo(result.report.rstrip())
    width = max(len(n) for n in result.labels)
    click.echo("confusion matrix (rows: true, columns: predicted)")
    for name, row in zip(result.labels, result.confusion_matrix, strict=True):
        click.echo(f"  {name:>{width}}  " + " ".join(f"{v:5d}" for v in row))


def _is_model(arg: str) -> bool:
    p = Path(arg)
    try:
        if p.is_dir():
            return model_file(p, MODEL_FILE).exists()
        return p.is_file() and p.suffix in (".safetensors", ".pt")
    except (OSError, ValueError):  # a text too long for a file name, or with a NUL: not a model
        return False


def _looks_like_path(arg: str) -> bool:
    """One word with a path separator or a model file's suffix (``runs/none``, ``./m``, ``model.safetensors``)."""
    return not any(c.isspace() for c in arg) and ("/" in arg or arg.endswith((".safetensors", ".pt")))


@click.command("predict")
@click.argument("args", nargs=-1, metavar="[MODEL] [TEXT]...")
@click.option("--model", "model_option", type=click.Path(path_type=str),
              help="Model directory (also accepted as the first argument; default: the shipped SST-2 model).")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@compute_options
@json_option
@handle_errors
def predict_command(args: tuple[str, ...], model_option: str | None, batch_size: int, device: str,
                    as_json: bool) -> None:
    """Label each TEXT (or each line of stdin when no text is given) with its class and probabilities.

    The first argument is read as MODEL when it is a model directory (or a .pt file); without one the
    shipped binary model is used: seqlab sentiment predict "not good at all"
    """
    texts = list(args)
    model_path = model_option
    if model_path is None and texts and _is_model(texts[0]):
        model_path = texts.pop(0)
    elif model_path is None and len(texts) > 1 and _looks_like_path(texts[0]):
        raise DataError(f"{texts[0]}: no such model directory (a first argument that looks like a path is read as "
                        f"MODEL; to classify such a text, pass it on stdin)")
    classifier = Classifier.load(model_path or default_model_path(), resolve_device(device))
    name = "<stdin>" if not texts else "argument"
    chunks = [texts] if texts else _stdin_chunks(batch_size)
    number, failures = 0, 0
    for lines in chunks:
        for prediction in classifier.predict(lines, batch_size):
            number += 1
            if prediction.warning:
                click.echo(f"seqlab: warning: {name} {number}: {prediction.warning}", err=True)
            if prediction.error:
                failures += 1
                click.echo(f"seqlab: error: {name} {number}: {prediction.error}", err=True)
            if as_json:
                row = {"text": prediction.text, "label": prediction.label or None,
                       "probabilities": prediction.probabilities}
                if prediction.error:
                    row["error"] = prediction.error
                click.echo(json.dumps(row, ensure_ascii=False))
            elif not prediction.error:
                probs = " ".join(f"{k}={v:.4f}" for k, v in prediction.probabilities.items())
                click.echo(f"{prediction.label}\t{probs}")
            else:
                click.echo("")
            sys.stdout.flush()
    if number == 0:
        fail(f"{name}: no text to classify")
    if failures:
        sys.exit(2)


def _stdin_chunks(batch_size: int):
    """Lines of stdin: one at a time from a terminal, in batches from a pipe or file."""
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    interactive = stream.isatty()
    chunk: list[bytes] = []
    for raw in stream:  # bytes: the classifier decodes them, so a line of bad UTF-8 gets an error of its own
        line = raw.encode() if isinstance(raw, str) else raw
        chunk.append(line.rstrip(b"\r\n"))
        if interactive or len(chunk) >= batch_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
