"""One entry point for ``seqlab rl train``: a config with a [qlearning] or [dqn] table, trained and saved.

Q-learning runs on the built-in grid world and is checked against value iteration (the share of
states whose greedy action is optimal, and the greedy route's return from the start). DQN runs on
its configured environment; its best network then plays 100 fresh episodes (seeds unseen during
training) for the reported average return. The output directory gets ``model.safetensors`` (atomically) and
``config.toml``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.config import build_config, read_toml, to_toml
from seqlab.device import resolve_device
from seqlab.distributed import refuse_multiprocess
from seqlab.errors import ConfigError, DataError
from seqlab.io import atomic_open, claim_output, load_checkpoint, model_file, save_checkpoint
from seqlab.rl.dqn import DQNConfig, QNetwork, evaluate_policy, train_dqn
from seqlab.rl.gridworld import GridWorld, optimal_actions, value_iteration
from seqlab.rl.qlearning import QLearningConfig, greedy_policy, q_learning, rollout

MODEL_FILE = "model.safetensors"
FINAL_EPISODES = 100


def load_rl_config(path: str | os.PathLike, **overrides: Any) -> QLearningConfig | DQNConfig:
    """The config of a TOML file with a [qlearning] or a [dqn] table (flat files are read as DQN)."""
    data = read_toml(path)
    if "qlearning" in data and "dqn" in data:
        raise ConfigError(f"{path}: has both [qlearning] and [dqn] tables; keep one")
    if "qlearning" in data:
        return build_config(QLearningConfig, path, "qlearning", **overrides)
    return build_config(DQNConfig, path, "dqn", **overrides)


def _write(out: Path, state: dict, cfg: Any, section: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(state, out / MODEL_FILE)
    with atomic_open(out / "config.toml") as fh:
        fh.write(to_toml(cfg, section))


def train_qlearning(cfg: QLearningConfig, out_dir: str | os.PathLike) -> dict:
    refuse_multiprocess("rl", "an agent learns from its own environment steps, one after another")
    env = GridWorld(slip=cfg.slip)
    q, returns = q_learning(env, cfg)
    best = value_iteration(env, cfg.gamma)
    alive = ~env.terminal()
    policy = greedy_policy(q)
    optimal = optimal_actions(best)[np.arange(env.num_states), policy][alive]
    _, route = rollout(env, policy)
    _, best_route = rollout(env, greedy_policy(best))
    summary = {"algorithm": "qlearning", "episodes": cfg.episodes, "optimal_share": float(optimal.mean()),
               "route_return": route, "optimal_route_return": best_route,
               "last_100_mean_return": float(returns[-100:].mean()), "policy": env.render(policy),
               "model": str(Path(out_dir) / MODEL_FILE)}
    _write(Path(out_dir), {"kind": "rl-qlearning", "q": torch.from_numpy(q), "config": dataclasses.asdict(cfg),
                           "summary": summary}, cfg, "qlearning")
    return summary


def train_rl(cfg: QLearningConfig | DQNConfig, out_dir: str | os.PathLike, device: torch.device | str = "cpu",
             quiet: bool = False, log: Callable[[str], None] | None = None) -> dict:
    """Train the configured agent into ``out_dir``; returns the run's summary."""
    refuse_multiprocess("rl", "an agent learns from its own environment steps, one after another")
    with claim_output(out_dir, directory=True):
        return _train(cfg, out_dir, device, quiet, log)


def _train(cfg: QLearningConfig | DQNConfig, out_dir: str | os.PathLike, device: torch.device | str,
           quiet: bool, log: Callable[[str], None] | None) -> dict:
    if isinstance(cfg, QLearningConfig):
        return train_qlearning(cfg, out_dir)
    net, summary = train_dqn(cfg, device, quiet, log)
    final = evaluate_policy(net, cfg, FINAL_EPISODES, cfg.seed + 1_000_000, device)
    summary = {"algorithm": "dqn", **summary, "final_mean_return": float(final.mean()),
               "final_episodes": FINAL_EPISODES, "model": str(Path(out_dir) / MODEL_FILE)}
    first = net.net[0]
    _write(Path(out_dir), {"kind": "rl-dqn", "model": {k: v.cpu() for k, v in net.state_dict().items()},
                           "config": dataclasses.asdict(cfg), "input_size": first.in_features,
                           "num_actions": net.net[-1].out_features, "summary": summary}, cfg, "dqn")
    return summary


def load_dqn(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[QNetwork, DQNConfig]:
    """A saved DQN (model directory or file) on ``device`` (``auto``, ``cpu``, ``cuda[:N]``) and its settings."""
    p = Path(path)
    state = load_checkpoint(model_file(p, MODEL_FILE))
    if state.get("kind") != "rl-dqn":
        raise DataError(f"{p}: not a seqlab DQN model (kind {state.get('kind')!r})")
    cfg = DQNConfig(**state["config"])
    net = QNetwork(state["input_size"], state["num_actions"], cfg.hidden_size, cfg.num_layers)
    net.load_state_dict(state["model"])
    return net.to(resolve_device(device)).eval(), cfg
