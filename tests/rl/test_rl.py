"""Grid world and Q-learning against value iteration; CartPole against gym's equations; DQN parts by hand."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import ConfigError
from seqlab.rl.cartpole import CartPole, cartpole_dynamics
from seqlab.rl.dqn import DQNConfig, FrameStack, ReplayBuffer, dqn_loss, evaluate_policy, train_dqn
from seqlab.rl.envs import make_env
from seqlab.rl.gridworld import GridWorld, optimal_actions, value_iteration
from seqlab.rl.qlearning import QLearningConfig, greedy_policy, q_learning, rollout

ROOT = Path(__file__).resolve().parents[2]


def test_value_iteration_on_a_corridor_by_hand():
    env = GridWorld(layout=("S.G",), step_reward=-1.0, goal_reward=10.0)
    q = value_iteration(env, gamma=0.9)
    # from the middle cell, right reaches the goal: -1 + 10; from the start: -1 + 0.9 * 9
    assert q[env.state(0, 1), 1] == pytest.approx(9.0)
    assert q[env.state(0, 0), 1] == pytest.approx(-1 + 0.9 * 9.0)
    assert q[env.state(0, 0), 3] == pytest.approx(-1 + 0.9 * q[env.state(0, 0)].max())  # bump into the wall
    assert greedy_policy(q)[env.state(0, 0)] == 1


@pytest.mark.parametrize("slip", [0.0, 0.1])
def test_q_learning_finds_the_optimal_policy(slip):
    env = GridWorld(slip=slip)
    cfg = QLearningConfig(slip=slip, episodes=500 if slip == 0 else 2000, alpha=0.5 if slip == 0 else 0.1,
                          epsilon_episodes=300 if slip == 0 else 1000, seed=3)
    q, returns = q_learning(env, cfg)
    best = value_iteration(env, cfg.gamma)
    alive = ~env.terminal()
    policy = greedy_policy(q)
    assert optimal_actions(best)[np.arange(env.num_states), policy][alive].all()
    assert rollout(env, policy)[1] == rollout(env, greedy_policy(best))[1] == -21.0 + 10.0  # 21 moves, then the goal
    untrained = np.zeros_like(q)
    assert not optimal_actions(best)[np.arange(env.num_states), greedy_policy(untrained)][alive].all()


def _gym_step(state, action):
    """gym's CartPoleEnv.step (classic_control/cartpole.py, euler), transcribed for one state."""
    x, x_dot, theta, theta_dot = state
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass, polemass_length = masspole + masscart, masspole * length
    force = force_mag if action == 1 else -force_mag
    costheta, sintheta = math.cos(theta), math.sin(theta)
    temp = (force + polemass_length * theta_dot**2 * sintheta) / total_mass
    thetaacc = (gravity * sintheta - costheta * temp) / (length * (4.0 / 3.0 - masspole * costheta**2 / total_mass))
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    x, x_dot = x + tau * x_dot, x_dot + tau * xacc
    theta, theta_dot = theta + tau * theta_dot, theta_dot + tau * thetaacc
    done = x < -2.4 or x > 2.4 or theta < -12 * 2 * math.pi / 360 or theta > 12 * 2 * math.pi / 360
    return (x, x_dot, theta, theta_dot), done


def test_cartpole_matches_gyms_equations():
    rng = np.random.default_rng(0)
    states = rng.uniform(-0.3, 0.3, size=(64, 4))
    actions = rng.integers(0, 2, size=64)
    got = cartpole_dynamics(torch.from_numpy(states), torch.from_numpy(actions))
    for i in range(64):
        assert got[i].tolist() == pytest.approx(_gym_step(states[i], actions[i])[0], rel=1e-12, abs=1e-15)
    env = CartPole(num_envs=64, max_steps=5, generator=torch.Generator().manual_seed(0))
    obs = env.reset().double()
    assert float(obs.abs().max()) <= 0.05
    env.state = torch.from_numpy(states).float()
    _, reward, terminated, _ = env.step(torch.from_numpy(actions))
    expected = [_gym_step(states[i], actions[i])[1] for i in range(64)]
    assert terminated.tolist() == expected and reward.tolist() == [1.0] * 64


def test_cartpole_truncates_and_resets_by_mask():
    env = CartPole(num_envs=3, max_steps=2, generator=torch.Generator().manual_seed(0))
    env.reset()
    env.state = torch.zeros(3, 4)
    for _ in range(2):
        _, _, terminated, truncated = env.step(torch.tensor([0, 1, 0]))
    assert truncated.all() and not terminated.any()
    before = env.state.clone()
    env.reset(torch.tensor([True, False, False]))
    assert torch.equal(env.state[1:], before[1:]) and not torch.equal(env.state[0], before[0])
    assert env.steps.tolist() == [0, 2, 2]


def test_replay_buffer_wraps_around_and_frame_stack_stacks():
    buffer = ReplayBuffer(capacity=4, obs_size=2)
    for i in range(6):
        buffer.add(torch.full((1, 2), float(i)), torch.tensor([i % 2]), torch.tensor([float(i)]),
                   torch.full((1, 2), i + 0.5), torch.tensor([i == 5]))
    assert buffer.size == 4 and sorted(buffer.reward.tolist()) == [2.0, 3.0, 4.0, 5.0]
    obs, action, reward, next_obs, terminated = buffer.sample(50, torch.Generator().manual_seed(0))
    assert torch.equal(obs[:, 0], reward) and torch.equal(next_obs[:, 0], reward + 0.5)
    assert torch.equal(terminated, (reward == 5).float())
    stack = FrameStack(3)
    first = stack.reset(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert first.tolist() == [[1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4]]
    peeked = stack.peek(torch.tensor([[5.0, 6.0], [7.0, 8.0]]))
    pushed = stack.push(torch.tensor([[5.0, 6.0], [7.0, 8.0]]))
    assert torch.equal(peeked, pushed) and pushed[0].tolist() == [1, 2, 1, 2, 5, 6]
    again = stack.reset(torch.tensor([[9.0, 9.0], [0.0, 0.0]]), torch.tensor([True, False]))
    assert again.tolist() == [[9, 9, 9, 9, 9, 9], [3, 4, 3, 4, 7, 8]]


def test_dqn_loss_by_hand_clips_rewards_and_stops_at_termination():
    torch.manual_seed(0)
    q_net, target_net = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    obs, next_obs = torch.randn(4, 3), torch.randn(4, 3)
    action = torch.tensor([0, 1, 1, 0])
    reward = torch.tensor([5.0, -0.5, -3.0, 1.0])
    terminated = torch.tensor([0.0, 1.0, 0.0, 0.0])
    loss = dqn_loss(q_net, target_net, (obs, action, reward, next_obs, terminated), gamma=0.9)
    q = q_net(obs)[torch.arange(4), action]
    target = torch.tensor([1.0, -0.5, -1.0, 1.0]) + 0.9 * (1 - terminated) * target_net(next_obs).max(1).values
    err = (q - target.detach()).abs()
    huber = torch.where(err < 1, 0.5 * err.square(), err - 0.5).mean()
    assert loss.item() == pytest.approx(huber.item(), rel=1e-6)
    loss.backward()
    assert target_net.weight.grad is None  # the target network is held fixed
    unclipped = dqn_loss(q_net, target_net, (obs, action, reward, next_obs, terminated), 0.9, reward_clip=0.0)
    assert unclipped.item() == pytest.approx(F.huber_loss(q, (reward + 0.9 * (1 - terminated) * target_net(
        next_obs).max(1).values).detach()).item(), rel=1e-6)


def test_dqn_learns_cartpole_quickly(one_thread):
    """A few thousand steps lift the greedy policy far above random play (about 22 steps a balance)."""
    cfg = DQNConfig(total_steps=5000, eval_every=2500, eval_episodes=50, seed=1)
    net, summary = train_dqn(cfg, quiet=True)
    assert summary["best_eval_return"] > 100
    random_like = evaluate_policy(torch.nn.Linear(4, 2).requires_grad_(False), cfg, 50, 7)
    assert float(random_like.mean()) < 60


@pytest.mark.slow
def test_dqn_solves_cartpole_with_the_shipped_config(one_thread, tmp_path):
    """CartPole-v0's bar: an average return of at least 195 over 100 fresh episodes."""
    from seqlab.rl.train import load_rl_config, train_rl

    cfg = load_rl_config(ROOT / "configs" / "cartpole_dqn.toml")
    summary = train_rl(cfg, tmp_path, quiet=True)
    print(f"DQN: {summary['final_mean_return']:.1f} over 100 episodes after {summary['steps']} steps, "
          f"{summary['seconds']:.0f} s")
    assert summary["final_mean_return"] >= 195


@pytest.mark.skipif(importlib.util.find_spec("gymnasium") is not None, reason="gymnasium is installed")
def test_gymnasium_environments_need_gymnasium():
    with pytest.raises(ConfigError, match="pip install gymnasium"):
        make_env("gymnasium:CartPole-v1")
    with pytest.raises(ConfigError, match="cartpole"):
        make_env("pendulum")


@pytest.mark.skipif(importlib.util.find_spec("gymnasium") is None, reason="gymnasium is not installed")
def test_gymnasium_cartpole_behind_the_batched_interface():
    env = make_env("gymnasium:CartPole-v1", num_envs=2, max_steps=10)
    obs = env.reset()
    assert obs.shape == (2, 4)
    returns = evaluate_policy(torch.nn.Linear(4, 2).requires_grad_(False), DQNConfig(
        env="gymnasium:CartPole-v1", max_episode_steps=10), 3, 0)
    assert returns.shape == (3,) and float(returns.max()) <= 10
