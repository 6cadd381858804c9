"""Deep Q-networks (Mnih et al. 2015, "Human-level control through deep reinforcement learning", Methods).

An MLP Q(s, .; theta) over the last ``frame_stack`` observations stacked (Mnih et al. stack 4 Atari
frames) acts epsilon-greedily (epsilon decayed linearly over ``epsilon_steps``). Each transition
(s, a, r, s', terminated) goes into a replay buffer of the last ``buffer_size``; every ``train_every``
steps a uniform mini-batch from it takes one step on the Huber loss (delta = 1: the paper's clipping
of the error term to [-1, 1]) of

    y = clip(r, -c, c) + gamma (1 - terminated) max_a' Q(s', a'; theta^-)      (reward clipping, c = 1)

where theta^- is a target network, a copy of theta refreshed every ``target_update`` (C) steps. A
truncated episode (the time limit) still bootstraps from s'. Every ``eval_every`` steps the greedy
policy plays ``eval_episodes`` episodes; the best network so far is kept, and training stops once its
average return reaches ``solved_return`` (CartPole-v0: 195 over 100 episodes).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.config import learning_rate_check
from seqlab.device import make_generator
from seqlab.distributed import refuse_multiprocess
from seqlab.errors import ConfigError
from seqlab.rl.envs import make_env
from seqlab.training import Block, BudgetLoop


@dataclass(frozen=True)
class DQNConfig:
    env: str = "cartpole"  # or gymnasium:ID
    max_episode_steps: int = 200
    hidden_size: int = 128
    num_layers: int = 2
    frame_stack: int = 1
    buffer_size: int = 50_000
    batch_size: int = 64
    gamma: float = 0.99
    lr: float = 5e-4
    target_update: int = 500  # C: steps between target-network refreshes
    learning_starts: int = 1_000
    train_every: int = 1
    epsilon_start: float = 1.0
    epsilon_end: float = 0.02
    epsilon_steps: int = 10_000
    reward_clip: float = 1.0  # 0: no clipping
    huber_delta: float = 1.0
    clip_norm: float = 10.0
    total_steps: int = 100_000
    eval_every: int = 5_000
    eval_episodes: int = 100
    solved_return: float = 195.0  # stop when an evaluation reaches it (0: never)
    seed: int = 1

    def validate(self) -> None:
        checks = [
            (min(self.hidden_size, self.num_layers, self.frame_stack, self.batch_size, self.target_update,
                 self.train_every, self.total_steps, self.eval_every, self.eval_episodes) >= 1,
             "sizes, intervals and step counts must be >= 1"),
            (self.buffer_size >= self.batch_size, "buffer_size must be at least batch_size"),
            (0 <= self.gamma <= 1, "gamma must be in [0, 1]"),
            learning_rate_check(self.lr),
            (0 <= self.epsilon_end <= self.epsilon_start <= 1, "need 0 <= epsilon_end <= epsilon_start <= 1"),
            (self.reward_clip >= 0 and self.huber_delta > 0, "reward_clip must be >= 0 and huber_delta > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


class QNetwork(nn.Module):
    """Stacked observations (batch, frame_stack * obs) -> action values (batch, actions)."""

    def __init__(self, input_size: int, num_actions: int, hidden_size: int = 128, num_layers: int = 2) -> None:
        super().__init__()
        sizes = [input_size] + [hidden_size] * num_layers
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], num_actions))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class ReplayBuffer:
    """The last ``capacity`` transitions in preallocated tensors on ``device``, sampled uniformly."""

    def __init__(self, capacity: int, obs_size: int, device: torch.device | str = "cpu") -> None:
        self.capacity, self.size, self.next = capacity, 0, 0
        self.obs = torch.zeros(capacity, obs_size, device=device)
        self.next_obs = torch.zeros(capacity, obs_size, device=device)
        self.action = torch.zeros(capacity, dtype=torch.long, device=device)
        self.reward = torch.zeros(capacity, device=device)
        self.terminated = torch.zeros(capacity, device=device)

    def add(self, obs: torch.Tensor, action: torch.Tensor, reward: torch.Tensor, next_obs: torch.Tensor,
            terminated: torch.Tensor) -> None:
        """Store a batch of transitions: obs, next_obs (n, obs_size); action, reward, terminated (n,)."""
        n = len(action)
        index = (self.next + torch.arange(n, device=self.obs.device)) % self.capacity
        self.obs[index], self.next_obs[index] = obs, next_obs
        self.action[index], self.reward[index] = action, reward
        self.terminated[index] = terminated.float()
        self.next = (self.next + n) % self.capacity
        self.size = min(self.capacity, self.size + n)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """(obs, action, reward, next_obs, terminated) of ``batch_size`` transitions drawn with replacement."""
        index = torch.randint(self.size, (batch_size,), generator=generator, device=self.obs.device)
        return self.obs[index], self.action[index], self.reward[index], self.next_obs[index], self.terminated[index]


class FrameStack:
    """The last k observations of each of n environments, concatenated oldest first: (n, k * obs)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.frames: torch.Tensor | None = None  # (n, k, obs)

    def reset(self, obs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Start over (where ``mask``) with k copies of ``obs`` (n, obs); returns the stacked observations."""
        fresh = obs.unsqueeze(1).expand(-1, self.k, -1)
        if self.frames is None or mask is None:
            self.frames = fresh.clone()
        else:
            self.frames = torch.where(mask[:, None, None], fresh, self.frames)
        return self.observation()

    def peek(self, obs: torch.Tensor) -> torch.Tensor:
        """The stacked observation after ``obs`` (n, obs), without storing it."""
        return torch.cat([self.frames[:, 1:], obs.unsqueeze(1)], dim=1).flatten(1)

    def push(self, obs: torch.Tensor) -> torch.Tensor:
        self.frames = torch.cat([self.frames[:, 1:], obs.unsqueeze(1)], dim=1)
        return self.observation()

    def observation(self) -> torch.Tensor:
        return self.frames.flatten(1)


def dqn_loss(q_net: nn.Module, target_net: nn.Module, batch: tuple[torch.Tensor, ...], gamma: float,
             reward_clip: float = 1.0, huber_delta: float = 1.0) -> torch.Tensor:
    """Mean Huber loss between Q(s, a) and the clipped-reward one-step target from the target network."""
    obs, action, reward, next_obs, terminated = batch
    q = q_net(obs).gather(1, action.unsqueeze(1)).squeeze(1)
    if reward_clip > 0:
        reward = reward.clamp(-reward_clip, reward_clip)
    with torch.no_grad():
        target = reward + gamma * (1.0 - terminated) * target_net(next_obs).max(1).values
    return F.huber_loss(q, target, delta=huber_delta)


@torch.no_grad()
def evaluate_policy(q_net: nn.Module, cfg: DQNConfig, episodes: int, seed: int,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """Undiscounted returns (episodes,) of the greedy policy, all episodes played side by side."""
    env = make_env(cfg.env, episodes, cfg.max_episode_steps, seed, device)
    stack = FrameStack(cfg.frame_stack)
    obs = stack.reset(env.reset())
    returns = torch.zeros(episodes, device=device)
    alive = torch.ones(episodes, dtype=torch.bool, device=device)
    while bool(alive.any()):
        action = q_net(obs).argmax(1)
        next_obs, reward, terminated, truncated = env.step(action)
        returns += reward * alive
        done = terminated | truncated
        alive &= ~done
        stack.push(next_obs)
        if bool(done.any()):  # finished episodes restart (their returns no longer count) so every env stays valid
            obs = stack.reset(env.reset(done), done)
        obs = stack.observation()
    return returns


def train_dqn(cfg: DQNConfig, device: torch.device | str = "cpu", quiet: bool = False,
              log: Callable[[str], None] | None = None) -> tuple[QNetwork, dict]:
    """Train a DQN on ``cfg.env``; returns the best network (by evaluation return) and the run's summary.

    The environment steps run in a :class:`~seqlab.training.BudgetLoop` of ``cfg.total_steps`` (its
    progress bar; the loss and the weights are checked before every evaluation). No checkpoints."""
    refuse_multiprocess("rl", "an agent learns from its own environment steps, one after another")
    cfg.validate()
    loop = BudgetLoop(cfg.total_steps, "dqn", "step", quiet=quiet)
    return loop.run(_dqn_steps(cfg, torch.device(device), log or (lambda message: None)))


def _dqn_steps(cfg: DQNConfig, device: torch.device,
               log: Callable[[str], None]) -> Generator[Block, None, tuple[QNetwork, dict]]:
    """The run of :func:`train_dqn`, one Block an environment step; returns its result."""
    env = make_env(cfg.env, 1, cfg.max_episode_steps, cfg.seed, device)
    generator = make_generator(cfg.seed, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        q_net = QNetwork(env.observation_size * cfg.frame_stack, env.num_actions, cfg.hidden_size,
                         cfg.num_layers).to(device)
    target_net = copy.deepcopy(q_net)
    optimizer = torch.optim.Adam(q_net.parameters(), lr=cfg.lr)
    buffer = ReplayBuffer(cfg.buffer_size, env.observation_size * cfg.frame_stack, device)
    stack = FrameStack(cfg.frame_stack)
    obs = stack.reset(env.reset())
    episode_return = torch.zeros(1, device=device)
    episode_returns: list[float] = []
    best_return, best_state, best_step, evaluations = -float("inf"), copy.deepcopy(q_net.state_dict()), 0, []
    start = time.perf_counter()
    step, loss = 0, None
    for step in range(1, cfg.total_steps + 1):
        frac = min(1.0, step / cfg.epsilon_steps)
        epsilon = cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)
        if float(torch.rand((), generator=generator, device=device)) < epsilon:
            action = torch.randint(env.num_actions, (1,), generator=generator, device=device)
        else:
            with torch.no_grad():
                action = q_net(obs).argmax(1)
        next_obs, reward, terminated, truncated = env.step(action)
        buffer.add(obs, action, reward, stack.peek(next_obs), terminated)
        episode_return += reward
        obs = stack.push(next_obs)
        done = terminated | truncated
        if bool(done[0]):
            episode_returns.append(float(episode_return[0]))
            episode_return.zero_()
            obs = stack.reset(env.reset(done), done)
        if step >= cfg.learning_starts and step % cfg.train_every == 0:
            loss = dqn_loss(q_net, target_net, buffer.sample(cfg.batch_size, generator), cfg.gamma, cfg.reward_clip,
                            cfg.huber_delta)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.clip_norm > 0:
                nn.utils.clip_grad_norm_(q_net.parameters(), cfg.clip_norm)
            optimizer.step()
        if step % cfg.target_update == 0:
            target_net.load_state_dict(q_net.state_dict())
        if step % cfg.eval_every:
            yield Block(step)
            continue
        # a network of NaNs still picks actions: the loop checks it before it can be evaluated and be "best"
        losses = {"loss": loss} if loss is not None else {}
        yield Block(step, f"by step {step}", losses, tensors=list(q_net.parameters()))
        mean = float(evaluate_policy(q_net, cfg, cfg.eval_episodes, cfg.seed + step, device).mean())
        evaluations.append({"step": step, "mean_return": mean, "seconds": time.perf_counter() - start})
        if mean >= best_return:
            best_return, best_state, best_step = mean, copy.deepcopy(q_net.state_dict()), step
        recent = sum(episode_returns[-20:]) / max(1, len(episode_returns[-20:]))
        yield Block(step, postfix={"eval": mean, "train": recent, "eps": epsilon})
        log(f"step {step}: greedy return {mean:.1f} over {cfg.eval_episodes} episodes "
            f"(training episodes {recent:.1f}, epsilon {epsilon:.3f})")
        if cfg.solved_return and mean >= cfg.solved_return:
            break
    q_net.load_state_dict(best_state)
    summary = {"steps": step, "episodes": len(episode_returns), "best_eval_return": best_return,
               "best_step": best_step, "seconds": time.perf_counter() - start, "evaluations": evaluations,
               "solved": bool(cfg.solved_return and best_return >= cfg.solved_return)}
    return q_net, summary
