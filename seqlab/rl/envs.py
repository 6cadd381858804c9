"""Environments by name: the built-in torch CartPole, or any gymnasium environment when it is installed.

Every environment here is batched: ``reset(mask=None)`` -> observations (num_envs, obs), and
``step(actions)`` -> (next observations, rewards, terminated, truncated), each (num_envs, ...);
finished environments wait for ``reset(mask)``. Names: ``cartpole`` (seqlab.rl.cartpole) or
``gymnasium:ID`` (e.g. ``gymnasium:CartPole-v1``; discrete actions, observations flattened).
"""

from __future__ import annotations

import numpy as np
import torch

from seqlab.errors import ConfigError
from seqlab.rl.cartpole import CartPole


class GymnasiumEnv:
    """``num_envs`` copies of a gymnasium environment behind the batched interface above."""

    def __init__(self, env_id: str, num_envs: int = 1, max_steps: int = 0, seed: int = 0,
                 device: torch.device | str = "cpu") -> None:
        try:
            import gymnasium
        except ImportError:
            raise ConfigError(f"env 'gymnasium:{env_id}' needs gymnasium: pip install gymnasium "
                              "(or use the built-in env = 'cartpole')") from None
        try:
            kwargs = {"max_episode_steps": max_steps} if max_steps else {}
            self.envs = [gymnasium.make(env_id, **kwargs) for _ in range(num_envs)]
        except gymnasium.error.Error as exc:
            raise ConfigError(f"gymnasium cannot make {env_id!r}: {exc}") from None
        space = self.envs[0].action_space
        if not isinstance(space, gymnasium.spaces.Discrete):
            raise ConfigError(f"{env_id}: DQN needs a discrete action space, got {space}")
        self.num_envs, self.num_actions, self.device = num_envs, int(space.n), torch.device(device)
        self.observation_size = int(np.prod(self.envs[0].observation_space.shape))
        self.seeds = [seed + i for i in range(num_envs)]
        self.obs = torch.zeros(num_envs, self.observation_size, device=self.device)

    def _tensor(self, obs: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(obs, dtype=np.float32).reshape(-1), device=self.device)

    def reset(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        for i, env in enumerate(self.envs):
            if mask is None or bool(mask[i]):
                obs, _ = env.reset(seed=self.seeds[i])
                self.seeds[i] += self.num_envs  # the next episode starts elsewhere
                self.obs[i] = self._tensor(obs)
        return self.obs.clone()

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        rewards, terminated, truncated = [], [], []
        for i, env in enumerate(self.envs):
            obs, reward, term, trunc, _ = env.step(int(action[i]))
            self.obs[i] = self._tensor(obs)
            rewards.append(float(reward))
            terminated.append(bool(term))
            truncated.append(bool(trunc) and not term)
        as_bool = {"dtype": torch.bool, "device": self.device}
        return (self.obs.clone(), torch.tensor(rewards, device=self.device), torch.tensor(terminated, **as_bool),
                torch.tensor(truncated, **as_bool))


def make_env(name: str, num_envs: int = 1, max_steps: int = 200, seed: int = 0,
             device: torch.device | str = "cpu") -> CartPole | GymnasiumEnv:
    """The environment called ``name`` ("cartpole" or "gymnasium:ID"), batched ``num_envs`` times."""
    if name == "cartpole":
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return CartPole(num_envs, max_steps, device, generator)
    if name.startswith("gymnasium:"):
        return GymnasiumEnv(name.split(":", 1)[1], num_envs, max_steps, seed, device)
    raise ConfigError(f"env {name!r}: expected 'cartpole' or 'gymnasium:ID' (e.g. gymnasium:CartPole-v1)")
