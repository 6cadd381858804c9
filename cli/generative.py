"""``seqlab generative train|sample|eval``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from seqlab.cli.common import (
    device_option,
    fail,
    handle_errors,
    json_option,
    parse_sets,
    training_options,
)
from seqlab.config import build_config
from seqlab.device import make_generator, resolve_device
from seqlab.generative.config import GenerativeConfig

SECTION = "generative"


@click.group("generative")
def generative() -> None:
    """Autoencoders, VAEs and GANs on images (scikit-learn's digits by default): train, sample, evaluate."""


@generative.command("train")
@click.option("--config", "config_path", type=click.Path(path_type=str),
              help="TOML settings (configs/digits_vae.toml, digits_gan.toml, digits_ae.toml).")
@click.option("-o", "--output", default="generative_model", show_default=True, help="Model directory to write.")
@click.option("--epochs", type=int, help="Override: training epochs.")
@click.option("--batch-size", type=int, help="Override: images per batch.")
@click.option("--lr", type=float, help="Override: Adam learning rate.")
@click.option("--seed", type=int, help="Override: random seed.")
@training_options
def train_command(config_path: str | None, output: str, sets: tuple[str, ...], resume: bool, device: str,
                  quiet: bool, as_json: bool, **overrides) -> None:
    """Train the model of --config (flags override it); the best model goes to OUTPUT/model.safetensors."""
    from seqlab.generative.train import LAST_FILE, train_generative

    overrides.update(parse_sets(sets))
    cfg = build_config(GenerativeConfig, config_path, SECTION, **overrides)
    target = resolve_device(device)
    click.echo(f"training {cfg.model} on {cfg.data} ({target}) -> {output}", err=True)
    try:
        summary = train_generative(cfg, output, target, resume=resume, quiet=quiet,
                                   log=lambda m: click.echo(m, err=True))
    except KeyboardInterrupt:
        fail(f"interrupted; continue with --resume (checkpoint: {Path(output) / LAST_FILE})", 130)
    if as_json:
        click.echo(json.dumps(summary))
        return
    tests = ", ".join(f"{k[5:]} {v:.4g}" for k, v in summary.items() if k.startswith("test_") and k != "test_score")
    click.echo(f"{summary['kind']}: best epoch {summary['best_epoch']} of {summary['epochs']}; test {tests}; "
               f"model: {summary['model']}")


@generative.command("sample")
@click.argument("model_dir", type=click.Path(path_type=str))
@click.option("-n", "count", type=click.IntRange(1, 10000), default=64, show_default=True, help="Images to draw.")
@click.option("-o", "--output", default="grid.png", show_default=True, help="PNG grid (or .npy array) to write.")
@click.option("--columns", type=click.IntRange(1), help="Grid columns (default: a square).")
@click.option("--seed", type=int, default=0, show_default=True)
@device_option
@handle_errors
def sample_command(model_dir: str, count: int, output: str, columns: int | None, seed: int, device: str) -> None:
    """Draw N images from a trained model into a PNG grid (or a .npy array of shape (N, C, H, W))."""
    import numpy as np

    from seqlab.generative.models import load_model, sample_images
    from seqlab.generative.plot import save_grid
    from seqlab.io import atomic_open, check_writable

    check_writable(output)
    target = resolve_device(device)
    model, _, state = load_model(model_dir, target)
    images = sample_images(model, count, tuple(state["shape"]), make_generator(seed, target), state.get("codes"))
    if output.endswith(".npy"):
        with atomic_open(output, "wb") as fh:
            np.save(fh, images.cpu().numpy())
    else:
        save_grid(images, output, columns)
    click.echo(f"{count} samples written to {output}", err=True)


@generative.command("eval")
@click.argument("model_dir", type=click.Path(path_type=str))
@click.option("-n", "count", type=click.IntRange(2, 100000), default=500, show_default=True, help="Samples to score.")
@click.option("--seed", type=int, default=0, show_default=True)
@device_option
@json_option
@handle_errors
def eval_command(model_dir: str, count: int, seed: int, device: str, as_json: bool) -> None:
    """Samples vs held-out test images: MMD on pixels and classifier features, confidently classified share;
    the same for uniform noise as a reference."""
    from seqlab.generative.evaluate import DigitClassifier, noise_like, sample_report
    from seqlab.generative.models import load_model, sample_images
    from seqlab.generative.train import load_data

    target = resolve_device(device)
    model, cfg, state = load_model(model_dir, target)
    data = load_data(cfg)
    classifier = DigitClassifier.fit(data.train, data.train_labels) if int(data.train_labels.min()) >= 0 else None
    generator = make_generator(seed, target)
    samples = sample_images(model, count, tuple(state["shape"]), generator, state.get("codes"))
    noise = noise_like(count, data.shape, make_generator(seed, "cpu"))
    result = {"model": sample_report(samples, data.test, classifier),
              "noise": sample_report(noise, data.test, classifier),
              "classifier_test_accuracy": classifier.accuracy(data.test, data.test_labels) if classifier else None}
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
