"""Stable-Baselines3 DDPG or TD3 on a gymnasium environment with rl-baselines3-zoo's
hyperparameters for it, on one torch thread, for a fixed number of env steps. Evaluates every
`--eval-every` steps with deterministic episodes (as the ddpg evaluator plays them: episode i
starts from reset(seed=eval_seed + i)). Evaluation time is kept out of the training seconds, so
SB3 is not charged for its Python evaluation loop. Prints one JSON object per evaluation, then
one for the run."""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DDPG, TD3
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise

# rl-baselines3-zoo hyperparams/{ddpg,td3}.yml: the MuJoCo entries (HalfCheetah, Hopper, Walker2d, Ant)
# share these; other environments fall back to them too, and the run says so.
ZOO = {
    "default": dict(learning_starts=10_000, noise_std=0.1, learning_rate=1e-3, batch_size=256, train_freq=1,
                    gradient_steps=1, net_arch=[400, 300], buffer_size=1_000_000, gamma=0.99, tau=0.005),
}


def evaluate(model, env: gym.Env, episodes: int, seed: int) -> list[float]:  # type: ignore[no-untyped-def]
    returns = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


class Evaluations(BaseCallback):
    def __init__(self, env_id: str, every: int, episodes: int, seed: int, label: dict) -> None:
        super().__init__()
        self.env = gym.make(env_id)
        self.every, self.episodes, self.seed, self.label = every, episodes, seed, label
        self.started = time.perf_counter()
        self.eval_seconds = 0.0
        self.history: list[dict] = []

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            began = time.perf_counter()
            returns = evaluate(self.model, self.env, self.episodes, self.seed)
            self.eval_seconds += time.perf_counter() - began
            row = dict(self.label, env_steps=self.num_timesteps, wall_seconds=time.perf_counter() - self.started - self.eval_seconds,
                       mean_return=float(np.mean(returns)), std_return=float(np.std(returns)))
            self.history.append(row)
            print(json.dumps(row), flush=True)
        return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--algo", choices=("ddpg", "td3"), required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--eval-every", type=int, required=True)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-seed", type=int, default=1_000_003)
    args = parser.parse_args()
    torch.set_num_threads(1)
    h = ZOO.get(args.env, ZOO["default"])
    env = gym.make(args.env)
    actions = env.action_space.shape[0]
    noise = NormalActionNoise(np.zeros(actions), h["noise_std"] * np.ones(actions))
    algorithm = DDPG if args.algo == "ddpg" else TD3
    model = algorithm("MlpPolicy", env, learning_rate=h["learning_rate"], buffer_size=min(h["buffer_size"], args.steps),
                      learning_starts=h["learning_starts"], batch_size=h["batch_size"], tau=h["tau"], gamma=h["gamma"],
                      train_freq=h["train_freq"], gradient_steps=h["gradient_steps"], action_noise=noise,
                      policy_kwargs=dict(net_arch=h["net_arch"]), seed=args.seed, device="cpu", verbose=0)
    label = {"impl": f"sb3-{args.algo}", "env": args.env, "seed": args.seed}
    callback = Evaluations(args.env, args.eval_every, args.eval_episodes, args.eval_seed, label)
    began = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=callback)
    wall = time.perf_counter() - began - callback.eval_seconds
    final = callback.history[-1] if callback.history else None
    print(json.dumps(dict(label, kind="run", env_steps=args.steps, wall_seconds=wall, updates=int(model._n_updates),
                          final_mean_return=final["mean_return"] if final else None, hyperparameters=h,
                          torch=torch.__version__, threads=torch.get_num_threads())), flush=True)


if __name__ == "__main__":
    main()
