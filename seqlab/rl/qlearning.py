"""Tabular Q-learning with epsilon-greedy exploration (Watkins 1989; Sutton & Barto 2018, sec. 6.5).

After each move s -a-> s' with reward r:

    Q(s, a) <- Q(s, a) + alpha [r + gamma (1 - done) max_a' Q(s', a') - Q(s, a)]

The behaviour policy takes a uniformly random action with probability epsilon (decayed linearly
from ``epsilon_start`` to ``epsilon_end`` over the first ``epsilon_episodes`` episodes), else the
greedy one (ties broken at random). With ``exploring_starts`` each episode begins in a random
non-terminal state, so that every state's actions are learnt, not only those near the best route
from the start. Q-learning is off-policy: Q converges to Q* whatever the
exploration, as long as every pair keeps being tried.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqlab.errors import ConfigError
from seqlab.rl.gridworld import GridWorld


@dataclass(frozen=True)
class QLearningConfig:
    episodes: int = 500
    max_steps: int = 200  # per episode
    alpha: float = 0.5
    gamma: float = 0.95
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_episodes: int = 300
    exploring_starts: bool = True
    slip: float = 0.0  # the grid world's chance of a random move
    seed: int = 1

    def validate(self) -> None:
        if self.episodes < 1 or self.max_steps < 1 or self.epsilon_episodes < 0:
            raise ConfigError("episodes and max_steps must be >= 1, epsilon_episodes >= 0")
        if not (0 < self.alpha <= 1 and 0 <= self.gamma <= 1):
            raise ConfigError("alpha must be in (0, 1] and gamma in [0, 1]")
        if not (0 <= self.epsilon_end <= 1 and 0 <= self.epsilon_start <= 1):
            raise ConfigError("epsilon_start and epsilon_end must be in [0, 1]")


def epsilon_greedy(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """A random action with probability epsilon, else a greedy one (random among ties)."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q_row)))
    best = np.flatnonzero(q_row == q_row.max())
    return int(rng.choice(best))


def q_learning(env: GridWorld, cfg: QLearningConfig, rng: np.random.Generator | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Learn Q (states, actions) on ``env``; also returns each episode's undiscounted return (episodes,)."""
    cfg.validate()
    rng = rng or np.random.default_rng(cfg.seed)
    q = np.zeros((env.num_states, env.num_actions))
    returns = np.zeros(cfg.episodes)
    starts = np.flatnonzero(~env.terminal())
    for episode in range(cfg.episodes):
        frac = min(1.0, episode / cfg.epsilon_episodes) if cfg.epsilon_episodes else 1.0
        epsilon = cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)
        s = int(rng.choice(starts)) if cfg.exploring_starts else env.start
        for _ in range(cfg.max_steps):
            a = epsilon_greedy(q[s], epsilon, rng)
            s_next, r, done = env.step(s, a, rng)
            target = r + (0.0 if done else cfg.gamma * q[s_next].max())
            q[s, a] += cfg.alpha * (target - q[s, a])
            returns[episode] += r
            s = s_next
            if done:
                break
    return q, returns


def greedy_policy(q: np.ndarray) -> np.ndarray:
    """(states,) the first best action of each state."""
    return q.argmax(1)


def rollout(env: GridWorld, policy: np.ndarray, max_steps: int = 200) -> tuple[list[int], float]:
    """Follow a deterministic policy from the start (no slips): the states visited and the return."""
    s, total, path = env.start, 0.0, [env.start]
    rng = np.random.default_rng(0)
    clean = GridWorld(env.layout, env.step_reward, env.goal_reward, env.pit_reward, 0.0)
    for _ in range(max_steps):
        s, r, done = clean.step(s, int(policy[s]), rng)
        total += r
        path.append(s)
        if done:
            break
    return path, total
