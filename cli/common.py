"""Options and error handling shared by every command group."""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from seqlab.device import DEVICE_CHOICES, machine_cores, set_threads
from seqlab.errors import ConfigError, SeqlabError

device_option = click.option(
    "--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True,
    help="Where to compute: auto picks cuda when available.",
)
threads_option = click.option(
    "--threads", type=click.IntRange(1), default=None, expose_value=False,
    callback=lambda ctx, param, value: set_threads(value),
    help=f"CPU threads to compute on. [default: the machine's cores, {machine_cores()} here] On a busy machine "
         "1 can be several times faster; word2vec gives the same vectors at every run only with 1.",
)


def compute_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--device and --threads, the options of every command that computes with torch."""
    return device_option(threads_option(func))


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def fail(message: str, code: int = 2) -> None:
    """Print ``seqlab: error: message`` on stderr (one line) and exit with ``code``."""
    click.echo(f"seqlab: error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SeqlabError into one line on stderr and exit status 2; real bugs keep their traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit as a traceback
            return result
        except SeqlabError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except OSError as exc:
            if exc.filename is not None or exc.errno not in _OUTPUT_ERRORS:
                raise  # a file error with a name is the library's to report; anything else is a bug
            _stdout_failed(exc)

    return wrapper


_OUTPUT_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EPIPE}


def _stdout_failed(exc: OSError) -> None:
    """The standard output cannot be written: a reader that went away (``| head``) ends the command
    quietly, as a killed pipe would (status 141); a full disk is a one-line error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so that Python's own flush at exit has nowhere to fail
    if exc.errno == errno.EPIPE:
        sys.exit(141)
    fail(f"cannot write the output ({exc.strerror})")


_NOT_SETTINGS = ("cls", "path", "section")  # the parameters of build_config, which an override cannot be


def parse_sets(sets: tuple[str, ...]) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as config overrides; values are read as one TOML value (``3``, ``true``,
    ``'lstm'``), else taken as plain strings."""
    import tomllib

    overrides: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        name = key.strip().replace("-", "_")
        if name in _NOT_SETTINGS:
            raise ConfigError(f"--set {item!r}: {name!r} is not a setting")
        try:
            document = tomllib.loads(f"v = {value.strip()}")
            parsed = document["v"] if len(document) == 1 else value.strip()  # "1\nx = 2" is not one value
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        if isinstance(parsed, float) and not math.isfinite(parsed):
            raise ConfigError(f"--set {item!r}: the value must be a finite number")
        overrides[name] = parsed
    return overrides


def config_flags(cls: type, from_config: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The dedicated options of a command, generated from the fields of the config dataclass ``cls``
    declared with ``setting(..., flag=...)``: name, type, choices, help and the default it shows all come
    from the declaration. Each option defaults to None (not given), so a TOML file's value stands unless
    the flag is used; the command passes them on to ``build_config`` as ``**settings``. With ``from_config``
    (commands whose --config sets most things) the help says the default is the config file's."""
    import dataclasses

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for field in reversed(dataclasses.fields(cls)):
            flag = field.metadata.get("flag")
            if flag:
                func = _flag_option(field, flag, from_config)(func)
        return func

    return decorate


def _flag_option(field: Any, flag: bool | str, from_config: bool) -> Callable[..., Any]:
    default, choices = field.default, field.metadata.get("choices")
    name = flag if isinstance(flag, str) else "--" + field.name.replace("_", "-")
    value = f"{default:g}" if isinstance(default, float) else str(default).lower() if isinstance(default, bool) \
        else str(default) or "''"
    shown = f"  [default: the config's, else {value}]" if from_config else \
        "" if isinstance(default, bool) else f"  [default: {value}]"
    text = field.metadata["help"] + shown
    if isinstance(default, bool):
        if isinstance(flag, str):  # a switch that only turns the setting on
            return click.option(name, field.name, is_flag=True, default=None, help=text)
        return click.option(f"{name}/--no-{name[2:]}", field.name, default=None, help=text)
    kind = click.Choice(choices) if choices else type(default)
    return click.option(name, field.name, type=kind, default=None, help=text)


def vectors_options(cls: type, config_help: str,
                    extra: tuple[Callable[..., Any], ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The arguments and options of a command that trains word vectors (embed train, glove train): CORPUS,
    -o/--output, --config (``config_help``), the dedicated flags of ``cls``, the ``extra`` options,
    --checkpoint, --resume, --store-dtype, --device, --threads, --quiet and --json; plus one-line errors."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.argument("corpus", required=False, type=click.Path()),
            click.option("-o", "--output", type=click.Path(),
                         help="Vectors to write: .txt word2vec text, .bin word2vec binary, .glove GloVe text (no "
                              "header), anything else a native directory.  [default: CORPUS's name with .bin, in "
                              "the current directory; lee.bin for the embedded corpus]"),
            click.option("--config", "config_path", type=click.Path(dir_okay=False), help=config_help),
            config_flags(cls), *extra,
            click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False),
                         help="Checkpoint file.  [default: OUTPUT.last.safetensors]"),
            click.option("--resume", is_flag=True, help="Continue from the checkpoint (an error when there is none)."),
            click.option("--store-dtype", type=click.Choice(["float32", "float16"]), default="float32",
                         show_default=True, help="Dtype of a native output (float16 halves the size)."),
            compute_options, quiet_option,
            click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout."),
        ]
        func = handle_errors(func)
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def default_vectors_output(corpus: str | None, suffix: str = ".bin") -> str:
    """The vectors file a train command writes without -o: CORPUS's name without its compression and text
    suffixes, plus ``suffix``, in the current directory (``lee`` for the embedded corpus, ``stdin`` for a pipe)."""
    if corpus is None:
        return "lee" + suffix
    name = Path(corpus).name
    if corpus == "-" or Path(corpus).resolve().parent == Path("/dev/fd") or name in ("stdin", "fd"):
        return "stdin" + suffix
    for ending in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(ending)
    stem = Path(name).stem if Path(name).suffix in (".txt", ".cor", ".text", ".tok", ".tsv") else name
    return (stem or "vectors") + suffix


def announce_output(output: str, given: bool) -> None:
    """Say where vectors go when -o was not given, and that an existing file there is replaced."""
    if not given:
        click.echo(f"seqlab: writing the vectors to {output} (choose with -o)", err=True)
    if Path(output).exists():
        click.echo(f"seqlab: note: {output} exists and will be replaced by this run's vectors", err=True)


def run_vectors(cfg: Any, output: str, corpus: str, device: str, checkpoint: str | None, resume: bool, quiet: bool,
                store_dtype: str, **options: Any) -> dict:
    """:func:`seqlab.embeddings.word2vec_io.train_vectors`, with the one-line message of an interrupted run
    (naming the checkpoint to ``--resume`` from)."""
    from seqlab.embeddings.word2vec_io import train_vectors
    from seqlab.training import interrupted_message, last_checkpoint

    corpus = "/dev/stdin" if corpus == "-" else corpus  # read once, through a copy when a pass must re-read it
    try:
        return train_vectors(cfg, output, corpus, device, checkpoint, resume, quiet, store_dtype, **options)
    except KeyboardInterrupt:
        fail(interrupted_message(checkpoint or last_checkpoint(output)), 130)
        raise  # fail exits; this line is never reached


def run_training(train: Callable[..., dict], cfg: Any, output: str, last_file: str, *, resume: bool, device: str,
                 quiet: bool, as_json: bool, start: Callable[[Any], str], report: Callable[[dict], str]) -> None:
    """The body of every model-directory ``train`` command: ``train(cfg, output, device, resume=, quiet=, log=)``
    with the line ``start(device)`` first, log lines on stderr, the interruption message that names the
    checkpoint to ``--resume`` from, and the summary as JSON or as the line ``report(summary)``. Under
    ``torchrun`` only rank 0 prints (the trainers log and write only there too)."""
    from seqlab.device import resolve_device
    from seqlab.distributed import launched_rank

    target = resolve_device(device)
    main = launched_rank() == 0
    if main:
        click.echo(start(target), err=True)
    try:
        summary = train(cfg, output, target, resume=resume, quiet=quiet, log=lambda m: click.echo(m, err=True))
    except KeyboardInterrupt:
        from seqlab.training import interrupted_message

        fail(interrupted_message(Path(output) / last_file), 130)
    if main:
        click.echo(json.dumps(summary) if as_json else report(summary))


def training_options(cls: type, default_output: str, config_help: str,
                     extra: tuple[Callable[..., Any], ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options of a model-directory ``train`` command, in this order: --config (``config_help``),
    -o/--output (default ``default_output``), the dedicated flags of the config class ``cls``, the ``extra``
    options, --set KEY=VALUE (as ``sets``), --resume, --device, --threads, --quiet and --json; plus one-line errors.
    The command gets the flags as ``**overrides``; :func:`command_config` turns them into the config."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option("--config", "config_path", type=click.Path(path_type=str), help=config_help),
            click.option("-o", "--output", default=default_output, show_default=True,
                         help="Model directory to write."),
            config_flags(cls, from_config=True), *extra,
            click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                         help="Override any setting (repeatable)."),
            click.option("--resume", is_flag=True, help="Continue from OUTPUT/last.safetensors."),
            compute_options, quiet_option, json_option,
        ]
        func = handle_errors(func)
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def command_config(cls: type, section: str, config_path: str | None, sets: tuple[str, ...],
                   overrides: dict[str, Any]) -> Any:
    """The config of a ``train`` command: the class's defaults, then --config, then its flags and --set
    (--set wins over a flag that says the same)."""
    from seqlab.config import build_config

    return build_config(cls, config_path, section, **{**overrides, **parse_sets(sets)})
