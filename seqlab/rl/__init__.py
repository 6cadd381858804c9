"""Reinforcement learning: tabular Q-learning on a grid world, DQN on a batched torch CartPole.

    from seqlab.rl import DQNConfig, train_dqn, evaluate_policy
    net, summary = train_dqn(DQNConfig())                          # CartPole, until 195 over 100 episodes
    evaluate_policy(net, DQNConfig(), episodes=100, seed=7).mean()

Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "cartpole": ["CartPole", "cartpole_dynamics"],
    "dqn": ["DQNConfig", "FrameStack", "QNetwork", "ReplayBuffer", "dqn_loss", "evaluate_policy", "train_dqn"],
    "envs": ["make_env"],
    "gridworld": ["GridWorld", "optimal_actions", "value_iteration"],
    "qlearning": ["QLearningConfig", "greedy_policy", "q_learning"],
    "train": ["load_dqn", "load_rl_config", "train_rl"],
})
