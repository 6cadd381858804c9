"""CartPole in torch, batched: gym's classic-control dynamics (Barto, Sutton & Anderson 1983).

A pole of half-length l = 0.5 and mass m = 0.1 is hinged on a cart of mass M = 1.0; each step pushes
the cart with F = +-10 N (action 1 right, 0 left) and integrates by explicit Euler with tau = 0.02 s:

    temp   = (F + m l theta'^2 sin theta) / (M + m)
    theta" = (g sin theta - cos theta temp) / (l (4/3 - m cos^2 theta / (M + m)))
    x"     = temp - m l theta" cos theta / (M + m)
    x += tau x',  x' += tau x",  theta += tau theta',  theta' += tau theta"

exactly as gym/gymnasium's ``CartPoleEnv.step`` (g = 9.8). Each step earns reward 1; the episode
terminates when |x| > 2.4 or |theta| > 12 degrees and is truncated after ``max_steps`` (200 in
CartPole-v0, whose "solved" bar is an average return of 195 over 100 episodes; 500 in v1). Start
states are uniform in [-0.05, 0.05]^4. Observations are (x, x', theta, theta').
"""

from __future__ import annotations

import math

import torch

GRAVITY, CART_MASS, POLE_MASS, HALF_LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
X_LIMIT, THETA_LIMIT = 2.4, 12 * 2 * math.pi / 360


def cartpole_dynamics(state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """One Euler step: state (N, 4) = (x, x', theta, theta'), action (N,) in {0, 1} -> next state (N, 4)."""
    x, x_dot, theta, theta_dot = state.unbind(-1)
    force = torch.where(action.bool(), FORCE, -FORCE).to(state.dtype)
    cos, sin = torch.cos(theta), torch.sin(theta)
    total = CART_MASS + POLE_MASS
    temp = (force + POLE_MASS * HALF_LENGTH * theta_dot.square() * sin) / total
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos.square() / total))
    x_acc = temp - POLE_MASS * HALF_LENGTH * theta_acc * cos / total
    return torch.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc],
                       dim=-1)


class CartPole:
    """``num_envs`` independent CartPoles stepped together on ``device``.

    ``step(action)`` returns (next observation, reward, terminated, truncated), each with a leading
    (num_envs,) dimension; ``reset(mask)`` restarts the environments where ``mask`` is True (all when
    None) and returns the observations.
    """

    observation_size = 4
    num_actions = 2

    def __init__(self, num_envs: int = 1, max_steps: int = 200, device: torch.device | str = "cpu",
                 generator: torch.Generator | None = None) -> None:
        self.num_envs, self.max_steps, self.device = num_envs, max_steps, torch.device(device)
        self.generator = generator
        self.state = torch.zeros(num_envs, 4, device=self.device)
        self.steps = torch.zeros(num_envs, dtype=torch.long, device=self.device)

    def reset(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        fresh = (torch.rand(self.num_envs, 4, generator=self.generator, device=self.device) - 0.5) * 0.1
        if mask is None:
            self.state, self.steps = fresh, torch.zeros_like(self.steps)
        else:
            self.state = torch.where(mask.unsqueeze(-1), fresh, self.state)
            self.steps = torch.where(mask, 0, self.steps)
        return self.state.clone()

    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        self.state = cartpole_dynamics(self.state, action)
        self.steps = self.steps + 1
        x, theta = self.state[:, 0], self.state[:, 2]
        terminated = (x.abs() > X_LIMIT) | (theta.abs() > THETA_LIMIT)
        truncated = (self.steps >= self.max_steps) & ~terminated
        reward = torch.ones(self.num_envs, device=self.device)
        return self.state.clone(), reward, terminated, truncated
