"""``seqlab rl train|eval``."""

from __future__ import annotations

import json

import click

from seqlab.cli.common import compute_options, handle_errors, json_option, parse_sets, quiet_option
from seqlab.device import resolve_device


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=str),
              help="TOML settings with a [dqn] or [qlearning] table (configs/cartpole_dqn.toml, "
                   "configs/gridworld_qlearning.toml).")
@click.option("-o", "--output", default="rl_model", show_default=True, help="Model directory to write.")
@click.option("--seed", type=int, help="Override: random seed.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override any setting (repeatable).")
@compute_options
@quiet_option
@json_option
@handle_errors
def train_command(config_path: str, output: str, seed: int | None, sets: tuple[str, ...], device: str, quiet: bool,
                  as_json: bool) -> None:
    """Train the agent of --config and report how good its greedy policy is."""
    from seqlab.rl.train import load_rl_config, train_rl

    cfg = load_rl_config(config_path, **{"seed": seed, **parse_sets(sets)})  # --set seed=N wins, as elsewhere
    target = resolve_device(device)
    click.echo(f"training {type(cfg).__name__.removesuffix('Config')} -> {output}", err=True)
    summary = train_rl(cfg, output, target, quiet=quiet, log=lambda m: click.echo(m, err=True))
    if as_json:
        click.echo(json.dumps(summary))
    elif summary["algorithm"] == "qlearning":
        click.echo(summary["policy"])
        click.echo(f"greedy action optimal in {100 * summary['optimal_share']:.1f}% of states; route return "
                   f"{summary['route_return']:g} (optimal {summary['optimal_route_return']:g}); model: "
                   f"{summary['model']}")
    else:
        click.echo(f"average return {summary['final_mean_return']:.1f} over {summary['final_episodes']} fresh "
                   f"episodes (best network at step {summary['best_step']}, {summary['steps']} steps, "
                   f"{summary['seconds']:.0f} s); model: {summary['model']}")


@click.command("eval")
@click.argument("model_dir", type=click.Path(path_type=str))
@click.option("--episodes", type=click.IntRange(1), default=100, show_default=True)
@click.option("--seed", type=int, default=12345, show_default=True)
@compute_options
@json_option
@handle_errors
def eval_command(model_dir: str, episodes: int, seed: int, device: str, as_json: bool) -> None:
    """Average return of a saved DQN's greedy policy over EPISODES episodes."""
    from seqlab.rl.dqn import evaluate_policy
    from seqlab.rl.train import load_dqn

    target = resolve_device(device)
    net, cfg = load_dqn(model_dir, target)
    returns = evaluate_policy(net, cfg, episodes, seed, target)
    result = {"mean_return": float(returns.mean()), "min_return": float(returns.min()), "episodes": episodes}
    click.echo(json.dumps(result) if as_json else
               f"average return {result['mean_return']:.1f} (min {result['min_return']:g}) over {episodes} episodes")
