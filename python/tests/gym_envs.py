"""A gymnasium environment that is not native to ddpg, for launch's Python-worker path in CI:
gymnasium's own Pendulum under another id (`ddpg launch --env gym_envs:PendulumPy-v1`)."""

import gymnasium as gym

if "PendulumPy-v1" not in gym.registry:
    gym.register("PendulumPy-v1", entry_point="gymnasium.envs.classic_control.pendulum:PendulumEnv",
                 max_episode_steps=200, reward_threshold=-200.0)
