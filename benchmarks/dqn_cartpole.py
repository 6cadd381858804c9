"""DQN on seqlab's torch CartPole against the CartPole-v0 bar (average return >= 195 over 100 episodes).

    python benchmarks/dqn_cartpole.py --device cpu [--seeds 1 2 3] [--threads 1]

Trains with configs/cartpole_dqn.toml for each seed (stopping once the greedy policy averages 195
over 100 evaluation episodes), then plays 100 fresh episodes with the best network, and prints
steps, wall time and returns next to a random policy's return.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from seqlab.config import build_config
from seqlab.device import resolve_device
from seqlab.rl.dqn import DQNConfig, evaluate_policy, train_dqn

ROOT = Path(__file__).resolve().parents[1]


class RandomPolicy(torch.nn.Module):
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.rand(len(obs), 2, device=obs.device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--config", default=str(ROOT / "configs" / "cartpole_dqn.toml"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    rows = []
    for seed in args.seeds:
        cfg = build_config(DQNConfig, args.config, "dqn", seed=seed)
        start = time.perf_counter()
        net, summary = train_dqn(cfg, device, quiet=True)
        seconds = time.perf_counter() - start
        final = evaluate_policy(net, cfg, 100, seed + 1_000_000, device)
        rows.append((seed, summary["steps"], seconds, float(final.mean()), float(final.min())))
    random_return = float(evaluate_policy(RandomPolicy(), DQNConfig(), 100, 99, device).mean())
    print(f"{'seed':>4} {'steps':>7} {'seconds':>8} {'mean return':>12} {'min':>6}")
    for seed, steps, seconds, mean, low in rows:
        print(f"{seed:>4} {steps:>7} {seconds:>8.1f} {mean:>12.1f} {low:>6.0f}")
    mean_return = sum(r[3] for r in rows) / len(rows)
    print(f"random policy: {random_return:.1f}; bar: 195.0; DQN mean {mean_return:.1f} "
          f"(ratio to the bar {mean_return / 195:.3f}) on {device}, {args.threads} thread(s)")


if __name__ == "__main__":
    main()
