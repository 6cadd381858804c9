"""A small grid world (a finite MDP) and its exact solution by value iteration.

The map is a list of strings: ``S`` start, ``G`` goal, ``X`` pit (both end the episode), ``#`` wall,
``.`` free. Actions 0-3 move up, right, down, left; a move into a wall or off the grid stays put.
With probability ``slip`` the move goes in a uniformly random direction instead. Every move earns
``step_reward``; entering the goal adds ``goal_reward``, entering a pit ``pit_reward``.

Value iteration (Sutton & Barto 2018, sec. 4.4) repeats the Bellman optimality backup

    Q(s, a) <- sum_s' P(s' | s, a) [r(s, a, s') + gamma (1 - done(s')) max_a' Q(s', a')]

until it changes by less than ``tol``; its greedy actions are the optimal policy that tabular
Q-learning must find.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seqlab.errors import ConfigError

ACTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left
ARROWS = "^>v<"

DEFAULT_MAP = (
    "S...#...",
    ".##.#.#.",
    ".#..X.#.",
    ".#.##.#.",
    "...#..#G",
    ".#...X..",
)


@dataclass(frozen=True)
class GridWorld:
    layout: tuple[str, ...] = DEFAULT_MAP
    step_reward: float = -1.0
    goal_reward: float = 10.0
    pit_reward: float = -10.0
    slip: float = 0.0
    cells: tuple[tuple[int, int], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows = list(self.layout)
        if not rows or len({len(r) for r in rows}) != 1:
            raise ConfigError("grid world: the map's rows must be non-empty and of equal length")
        text = "".join(rows)
        if set(text) - set("SGX#.") or text.count("S") != 1 or "G" not in text:
            raise ConfigError("grid world: the map uses S (one start), G (goal), X (pit), # (wall), . (free)")
        if not 0 <= self.slip < 1:
            raise ConfigError("grid world: slip must be in [0, 1)")
        cells = tuple((r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch != "#")
        object.__setattr__(self, "cells", cells)

    @property
    def num_states(self) -> int:
        return len(self.cells)

    @property
    def num_actions(self) -> int:
        return len(ACTIONS)

    def state(self, row: int, col: int) -> int:
        return self.cells.index((row, col))

    @property
    def start(self) -> int:
        return next(i for i, (r, c) in enumerate(self.cells) if self.layout[r][c] == "S")

    def terminal(self) -> np.ndarray:
        """(states,) bool: goal and pit cells."""
        return np.array([self.layout[r][c] in "GX" for r, c in self.cells])

    def _move(self, s: int, a: int) -> int:
        r, c = self.cells[s]
        nr, nc = r + ACTIONS[a][0], c + ACTIONS[a][1]
        if 0 <= nr < len(self.layout) and 0 <= nc < len(self.layout[0]) and self.layout[nr][nc] != "#":
            return self.state(nr, nc)
        return s

    def _reward(self, s_next: int) -> float:
        r, c = self.cells[s_next]
        bonus = {"G": self.goal_reward, "X": self.pit_reward}.get(self.layout[r][c], 0.0)
        return self.step_reward + bonus

    def model(self) -> tuple[np.ndarray, np.ndarray]:
        """P (states, actions, states) transition probabilities and R (states, actions, states) rewards."""
        n, m = self.num_states, self.num_actions
        p = np.zeros((n, m, n))
        reward = np.zeros((n, m, n))
        for s in range(n):
            for a in range(m):
                for b in range(m):
                    prob = (1 - self.slip) * (a == b) + self.slip / m
                    s_next = self._move(s, b)
                    p[s, a, s_next] += prob
                    reward[s, a, s_next] = self._reward(s_next)
        return p, reward

    def step(self, s: int, a: int, rng: np.random.Generator) -> tuple[int, float, bool]:
        """One move from state s with action a: (next state, reward, episode over)."""
        if self.slip and rng.random() < self.slip:
            a = int(rng.integers(self.num_actions))
        s_next = self._move(s, a)
        r, c = self.cells[s_next]
        return s_next, self._reward(s_next), self.layout[r][c] in "GX"

    def render(self, policy: np.ndarray | None = None) -> str:
        """The map, with an arrow per free cell for a policy (states,) of actions."""
        rows = [list(r) for r in self.layout]
        if policy is not None:
            for s, (r, c) in enumerate(self.cells):
                if rows[r][c] in ".S":
                    rows[r][c] = ARROWS[int(policy[s])]
        return "\n".join("".join(r) for r in rows)


def value_iteration(env: GridWorld, gamma: float = 0.95, tol: float = 1e-10, max_iter: int = 100_000) -> np.ndarray:
    """The optimal action values Q* (states, actions) by repeated Bellman optimality backups."""
    p, reward = env.model()
    alive = ~env.terminal()
    q = np.zeros((env.num_states, env.num_actions))
    for _ in range(max_iter):
        v = np.where(alive, q.max(1), 0.0)  # no value after entering a terminal cell
        new = (p * (reward + gamma * v[None, None, :])).sum(-1)
        if np.abs(new - q).max() < tol:
            return new
        q = new
    return q


def optimal_actions(q: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """(states, actions) bool: the actions within ``tol`` of the best in each state."""
    return q >= q.max(1, keepdims=True) - tol
