"""``seqlab vision train|style|oneshot``."""

from __future__ import annotations

import json
import time

import click

from seqlab.cli.common import (
    command_config,
    compute_options,
    handle_errors,
    json_option,
    quiet_option,
    run_training,
    training_options,
)
from seqlab.config import build_config
from seqlab.device import resolve_device
from seqlab.errors import ConfigError
from seqlab.io import check_writable
from seqlab.vision.train import VisionConfig


@click.command("train")
@training_options(VisionConfig, "vision_model", "TOML settings (configs/digits_*.toml).")
def train_command(config_path: str | None, output: str, sets: tuple[str, ...], resume: bool,
                  device: str, quiet: bool, as_json: bool, **overrides) -> None:
    """Train a classifier on scikit-learn's digits; prints the best model's test accuracy."""
    from seqlab.vision.train import LAST_FILE, SECTION, train_vision

    cfg = command_config(VisionConfig, SECTION, config_path, sets, overrides)
    run_training(train_vision, cfg, output, LAST_FILE, resume=resume, device=device, quiet=quiet, as_json=as_json,
                 start=lambda target: f"training {cfg.model} on digits ({cfg.image_size}x{cfg.image_size}, "
                                      f"{cfg.optimizer}) on {target} -> {output}", report=_report)


def _report(summary: dict) -> str:
    best = summary["best_valid_accuracy"]
    valid = f"best validation {100 * best:.2f}%, " if best is not None else ""
    return (f"test accuracy {100 * summary['test_accuracy']:.2f}% ({valid}{summary['epochs']} epochs, "
            f"{summary['seconds']:.1f} s); model: {summary['model']}")


@click.command("style")
@click.argument("content", required=False, type=click.Path(path_type=str))
@click.argument("style", required=False, type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(path_type=str), help="Image to write (.png, .jpg).")
@click.option("--steps", type=click.IntRange(1), default=100, show_default=True,
              help="Optimiser iterations (L-BFGS iterations or Adam steps).")
@click.option("--size", type=click.IntRange(16), default=128, show_default=True, help="Longer side in pixels.")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True)
@click.option("--alpha", type=float, default=1.0, show_default=True, help="Content weight.")
@click.option("--beta", type=float, default=0.0,
              help="Style weight (default: 1e3 with VGG-16 weights, 1e9 with the random CNN).")
@click.option("--init", type=click.Choice(["content", "noise"]), default="content", show_default=True)
@click.option("--vgg-weights", type=click.Path(path_type=str),
              help="A local torchvision vgg16 state dict (e.g. vgg16-397923af.pth); else a random multi-scale CNN.")
@click.option("--seed", type=int, default=0, show_default=True)
@compute_options
@quiet_option
@json_option
@handle_errors
def style_command(content: str | None, style: str | None, output: str, size: int, vgg_weights: str | None,
                  device: str, quiet: bool, as_json: bool, **settings) -> None:
    """Gatys style transfer: CONTENT painted in the style of STYLE (default: scikit-learn's china.jpg
    in the style of flower.jpg). The options steps, optimizer, alpha, beta, init and seed are StyleConfig's."""
    from seqlab.vision.images import load_image, sample_image, save_image
    from seqlab.vision.style import StyleConfig, make_extractor, style_transfer

    if (content is None) != (style is None):
        raise ConfigError("give both CONTENT and STYLE images, or neither (scikit-learn's sample images)")
    check_writable(output)
    cfg = build_config(StyleConfig, None, **settings)
    target = resolve_device(device)
    content_image = load_image(content, size) if content else sample_image("china.jpg", size)
    style_image = load_image(style, size) if style else sample_image("flower.jpg", size)
    extractor = make_extractor(vgg_weights, cfg.seed).to(target)  # seeded by its own generator
    start = time.perf_counter()
    result = style_transfer(content_image.to(target), style_image.to(target), extractor, cfg, quiet=quiet)
    save_image(result.image, output)
    summary = {**result.summary(), "output": output, "extractor": "vgg16" if vgg_weights else "random-multiscale",
               "seconds": time.perf_counter() - start}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"loss {summary['initial_loss']:.4g} -> {summary['final_loss']:.4g} in {cfg.steps} steps "
                   f"({summary['seconds']:.1f} s); image: {output}")


@click.command("oneshot")
@click.option("--unseen", default="7,8,9", show_default=True, help="Digits kept out of training.")
@click.option("--loss", type=click.Choice(["contrastive", "triplet"]), default="triplet", show_default=True)
@click.option("--mining", type=click.Choice(["batch_hard", "semi_hard"]), default="semi_hard", show_default=True)
@click.option("--margin", type=float, default=0.5, show_default=True, help="Triplet margin.")
@click.option("--steps", type=click.IntRange(1), default=300, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@compute_options
@quiet_option
@json_option
@handle_errors
def oneshot_command(unseen: str, loss: str, mining: str, margin: float, steps: int, seed: int,
                    device: str, quiet: bool, as_json: bool) -> None:
    """Siamese one-shot verification: "same digit?" accuracy on digits never seen in training."""
    from seqlab.vision.siamese import OneShotConfig, train_siamese

    cfg = build_config(OneShotConfig, None, unseen_classes=unseen, loss=loss, mining=mining, margin=margin,
                       steps=steps, seed=seed)
    result = train_siamese(cfg, resolve_device(device), quiet=quiet)
    result.pop("model")
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"verification accuracy on unseen digits {result['unseen_classes']}: "
                   f"{100 * result['verification_accuracy']:.2f}% ({result['pairs']} pairs; seen digits "
                   f"{100 * result['seen_accuracy']:.2f}%)")
