"""Reinforcement learning: tabular Q-learning on a grid world, DQN on a batched torch CartPole.

    from seqlab.rl import DQNConfig, train_dqn, evaluate_policy
    net, summary = train_dqn(DQNConfig())                          # CartPole, until 195 over 100 episodes
    evaluate_policy(net, DQNConfig(), episodes=100, seed=7).mean()
"""

from seqlab.rl.cartpole import CartPole, cartpole_dynamics
from seqlab.rl.dqn import DQNConfig, FrameStack, QNetwork, ReplayBuffer, dqn_loss, evaluate_policy, train_dqn
from seqlab.rl.envs import make_env
from seqlab.rl.gridworld import GridWorld, optimal_actions, value_iteration
from seqlab.rl.qlearning import QLearningConfig, greedy_policy, q_learning
from seqlab.rl.train import load_dqn, load_rl_config, train_rl

__all__ = ["CartPole", "DQNConfig", "FrameStack", "GridWorld", "QLearningConfig", "QNetwork", "ReplayBuffer",
           "cartpole_dynamics", "dqn_loss", "evaluate_policy", "greedy_policy", "load_dqn", "load_rl_config",
           "make_env", "optimal_actions", "q_learning", "train_dqn", "train_rl", "value_iteration"]
