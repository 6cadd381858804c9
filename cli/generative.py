"""``seqlab generative train|sample|eval``."""

from __future__ import annotations

import json

import click

from seqlab.cli.common import (
    command_config,
    compute_options,
    handle_errors,
    json_option,
    run_training,
    training_options,
)
from seqlab.device import make_generator, resolve_device
from seqlab.generative.config import GenerativeConfig

SECTION = "generative"


@click.command("train")
@training_options(GenerativeConfig, "generative_model",
                  "TOML settings (configs/digits_vae.toml, digits_gan.toml, digits_ae.toml).")
def train_command(config_path: str | None, output: str, sets: tuple[str, ...], resume: bool, device: str,
                  quiet: bool, as_json: bool, **overrides) -> None:
    """Train the model of --config (flags override it); the best model goes to OUTPUT/model.safetensors."""
    from seqlab.generative.train import LAST_FILE, train_generative

    cfg = command_config(GenerativeConfig, SECTION, config_path, sets, overrides)
    run_training(train_generative, cfg, output, LAST_FILE, resume=resume, device=device, quiet=quiet,
                 as_json=as_json, start=lambda target: f"training {cfg.model} on {cfg.data} ({target}) -> {output}",
                 report=_report)


def _report(summary: dict) -> str:
    tests = ", ".join(f"{k[5:]} {v:.4g}" for k, v in summary.items() if k.startswith("test_") and k != "test_score")
    return (f"{summary['kind']}: best epoch {summary['best_epoch']} of {summary['epochs']}; test {tests}; "
            f"model: {summary['model']}")


@click.command("sample")
@click.argument("model_dir", type=click.Path(path_type=str))
@click.option("-n", "count", type=click.IntRange(1, 10000), default=64, show_default=True, help="Images to draw.")
@click.option("-o", "--output", default="grid.png", show_default=True, help="PNG grid (or .npy array) to write.")
@click.option("--columns", type=click.IntRange(1), help="Grid columns (default: a square).")
@click.option("--seed", type=int, default=0, show_default=True)
@compute_options
@handle_errors
def sample_command(model_dir: str, count: int, output: str, columns: int | None, seed: int, device: str) -> None:
    """Draw N images from a trained model into a PNG grid (or a .npy array of shape (N, C, H, W))."""
    from seqlab.generative.models import load_model, sample_images
    from seqlab.generative.plot import write_samples
    from seqlab.io import check_writable

    check_writable(output)
    target = resolve_device(device)
    model, _, state = load_model(model_dir, target)
    images = sample_images(model, count, tuple(state["shape"]), make_generator(seed, target), state.get("codes"))
    write_samples(images, output, columns)
    click.echo(f"{count} samples written to {output}", err=True)


@click.command("eval")
@click.argument("model_dir", type=click.Path(path_type=str))
@click.option("-n", "count", type=click.IntRange(2, 100000), default=500, show_default=True, help="Samples to score.")
@click.option("--seed", type=int, default=0, show_default=True)
@compute_options
@json_option
@handle_errors
def eval_command(model_dir: str, count: int, seed: int, device: str, as_json: bool) -> None:
    """Samples vs held-out test images: MMD on pixels and classifier features, confidently classified share;
    the same for uniform noise as a reference."""
    from seqlab.generative.evaluate import evaluate_model

    result = evaluate_model(model_dir, count, seed, device)
    classifier = result["classifier_test_accuracy"] is not None
    if as_json:
        click.echo(json.dumps(result))
        return
    for name in ("model", "noise"):
        r = result[name]
        line = f"{name:6s} MMD^2 pixels {r['mmd_pixels']:.4f}"
        if classifier:
            line += (f", features {r['mmd_features']:.4f}, confidently a digit {100 * r['confident_rate']:.1f}% "
                     f"(p >= {r['confidence']})")
        click.echo(line)
