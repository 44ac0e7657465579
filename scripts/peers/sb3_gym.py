"""Stable-Baselines3 DDPG, TD3 or SAC, or sb3-contrib's CrossQ, on a gymnasium environment with
rl-baselines3-zoo's hyperparameters for it, on one torch thread, for a fixed number of env steps. Evaluates every
`--eval-every` steps with deterministic episodes (as the ddpg evaluator plays them: episode i
starts from reset(seed=eval_seed + i)). Evaluation time is kept out of the training seconds, so
SB3 is not charged for its Python evaluation loop. Prints one JSON object per evaluation, then
one for the run.

With `--measure-updates N` it stops N updates after learning starts and reports the updates per second
it measured and the wall time that rate predicts for `--steps` (for a reference whose full run does not
fit in a session: rl-zoo's CrossQ critics are [2048, 2048]); the run line then says `"predicted": true`."""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DDPG, SAC, TD3
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise

# rl-baselines3-zoo hyperparams/{ddpg,td3}.yml: the MuJoCo entries (HalfCheetah, Hopper, Walker2d, Ant)
# share these; other environments fall back to them too, and the run says so.
ZOO = {
    "default": dict(learning_starts=10_000, noise_std=0.1, learning_rate=1e-3, batch_size=256, train_freq=1,
                    gradient_steps=1, net_arch=[400, 300], buffer_size=1_000_000, gamma=0.99, tau=0.005),
}
# hyperparams/sac.yml's MuJoCo entries: SB3's SAC defaults ([256, 256], Adam 3e-4, batch 256, α auto) and 10,000 steps before learning.
ZOO_SAC = dict(learning_starts=10_000, learning_rate=3e-4, batch_size=256, train_freq=1, gradient_steps=1, net_arch=[256, 256],
               buffer_size=1_000_000, gamma=0.99, tau=0.005)
# hyperparams/crossq.yml's MuJoCo entries: Adam 1e-3, 5,000 steps before learning, policy delay 3, actor [256, 256], critics [2048, 2048].
ZOO_CROSSQ = dict(learning_starts=5_000, learning_rate=1e-3, batch_size=256, train_freq=1, gradient_steps=1, policy_delay=3,
                  net_arch=dict(pi=[256, 256], qf=[2048, 2048]), buffer_size=1_000_000, gamma=0.99)


def make_model(algo: str, env: gym.Env, steps: int, seed: int):  # type: ignore[no-untyped-def]
    """The algorithm with rl-zoo's settings for the MuJoCo tasks, and those settings."""
    if algo in ("ddpg", "td3"):
        h = ZOO["default"]
        actions = env.action_space.shape[0]
        noise = NormalActionNoise(np.zeros(actions), h["noise_std"] * np.ones(actions))
        algorithm = DDPG if algo == "ddpg" else TD3
        return algorithm("MlpPolicy", env, learning_rate=h["learning_rate"], buffer_size=min(h["buffer_size"], steps),
                         learning_starts=h["learning_starts"], batch_size=h["batch_size"], tau=h["tau"], gamma=h["gamma"],
                         train_freq=h["train_freq"], gradient_steps=h["gradient_steps"], action_noise=noise,
                         policy_kwargs=dict(net_arch=h["net_arch"]), seed=seed, device="cpu", verbose=0), h
    if algo == "sac":
        h = ZOO_SAC
        return SAC("MlpPolicy", env, learning_rate=h["learning_rate"], buffer_size=min(h["buffer_size"], steps),
                   learning_starts=h["learning_starts"], batch_size=h["batch_size"], tau=h["tau"], gamma=h["gamma"],
                   train_freq=h["train_freq"], gradient_steps=h["gradient_steps"], policy_kwargs=dict(net_arch=h["net_arch"]),
                   seed=seed, device="cpu", verbose=0), h
    from sb3_contrib import CrossQ

    h = ZOO_CROSSQ
    return CrossQ("MlpPolicy", env, learning_rate=h["learning_rate"], buffer_size=min(h["buffer_size"], steps),
                  learning_starts=h["learning_starts"], batch_size=h["batch_size"], gamma=h["gamma"], train_freq=h["train_freq"],
                  gradient_steps=h["gradient_steps"], policy_delay=h["policy_delay"], policy_kwargs=dict(net_arch=h["net_arch"]),
                  seed=seed, device="cpu", verbose=0), h


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
    def __init__(self, env_id: str, every: int, episodes: int, seed: int, label: dict, measure_updates: int | None = None) -> None:
        super().__init__()
        self.env = gym.make(env_id)
        self.every, self.episodes, self.seed, self.label = every, episodes, seed, label
        self.started = time.perf_counter()
        self.eval_seconds = 0.0
        self.history: list[dict] = []
        self.measure_updates = measure_updates
        self.learning_began: tuple[float, int] | None = None
        self.measured: tuple[float, int] | None = None

    def _on_step(self) -> bool:
        if self.measure_updates is not None:
            updates = int(self.model._n_updates)
            if updates > 0 and self.learning_began is None:
                self.learning_began = (time.perf_counter(), updates)
            if self.learning_began and updates - self.learning_began[1] >= self.measure_updates:
                self.measured = (time.perf_counter() - self.learning_began[0], updates - self.learning_began[1])
                return False
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
    parser.add_argument("--algo", choices=("ddpg", "td3", "sac", "crossq"), required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--eval-every", type=int, required=True)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-seed", type=int, default=1_000_003)
    parser.add_argument("--measure-updates", type=int, help="stop this many updates into learning and predict the full run's wall time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = gym.make(args.env)
    model, h = make_model(args.algo, env, args.steps, args.seed)
    label = {"impl": f"sb3-{args.algo}", "env": args.env, "seed": args.seed}
    callback = Evaluations(args.env, args.eval_every, args.eval_episodes, args.eval_seed, label, args.measure_updates)
    began = time.perf_counter()
    model.learn(total_timesteps=args.steps, callback=callback)
    wall = time.perf_counter() - began - callback.eval_seconds
    if callback.measured:
        seconds, updates = callback.measured
        rate = updates / seconds
        before = callback.learning_began[0] - began if callback.learning_began else 0.0
        remaining = (args.steps - h["learning_starts"]) * h["gradient_steps"] / h["train_freq"]
        print(json.dumps(dict(label, kind="run", predicted=True, updates_per_second=rate, measured_updates=updates,
                              wall_seconds=before + remaining / rate, hyperparameters=h, torch=torch.__version__,
                              threads=torch.get_num_threads())), flush=True)
        return
    final = callback.history[-1] if callback.history else None
    print(json.dumps(dict(label, kind="run", env_steps=args.steps, wall_seconds=wall, updates=int(model._n_updates),
                          final_mean_return=final["mean_return"] if final else None, hyperparameters=h,
                          torch=torch.__version__, threads=torch.get_num_threads())), flush=True)


if __name__ == "__main__":
    main()
