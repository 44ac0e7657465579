"""Stable-Baselines3 DDPG on Pendulum-v1 with rl-baselines3-zoo's tuned hyperparameters,
on one thread: environment steps and seconds until the first evaluation whose mean
return reaches -200, evaluated as `ddpg train` evaluates (every 1,000 steps, 10
deterministic episodes). Prints one JSON object per seed."""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DDPG
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise

from sb3_gym import evaluate as evaluate_episodes  # beside this file: deterministic episodes from seed + i

SOLVED_RETURN, EVAL_EVERY, EVAL_EPISODES, EVAL_SEED = -200.0, 1_000, 10, 1_000_003


def evaluate(model: DDPG, env: gym.Env) -> float:
    return float(np.mean(evaluate_episodes(model, env, EVAL_EPISODES, EVAL_SEED)))


class FirstSolve(BaseCallback):
    """Evaluates every EVAL_EVERY steps; stops training at the first solve. Evaluation time is
    kept out of the training seconds, so SB3 is not charged for its Python evaluation loop."""

    def __init__(self) -> None:
        super().__init__()
        self.eval_env = gym.make("Pendulum-v1")
        self.eval_seconds = 0.0
        self.solved: dict[str, float] | None = None
        self.start = time.perf_counter()

    def _on_step(self) -> bool:
        if self.num_timesteps % EVAL_EVERY != 0:
            return True
        before = time.perf_counter()
        mean_return = evaluate(self.model, self.eval_env)
        self.eval_seconds += time.perf_counter() - before
        if mean_return >= SOLVED_RETURN:
            wall = time.perf_counter() - self.start
            self.solved = {"env_steps": self.num_timesteps, "training_seconds": wall - self.eval_seconds,
                           "wall_seconds": wall, "eval": mean_return}
            return False
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--max-env-steps", type=int, default=20_000, help="rl-zoo's n_timesteps for Pendulum")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in (int(s) for s in args.seeds.split(",")):
        env = gym.make("Pendulum-v1")
        model = DDPG(
            "MlpPolicy", env, seed=seed, gamma=0.98, buffer_size=200_000, learning_starts=10_000,
            action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)), gradient_steps=-1,
            train_freq=(1, "episode"), learning_rate=1e-3, policy_kwargs={"net_arch": [400, 300]},
            device="cpu", verbose=0)
        callback = FirstSolve()
        model.learn(total_timesteps=args.max_env_steps, callback=callback)
        result = {"seed": seed, "solved": callback.solved is not None, **(callback.solved or {})}
        if callback.solved is None:
            result["training_seconds"] = time.perf_counter() - callback.start - callback.eval_seconds
        print(json.dumps({"name": "sb3_ddpg_first_solve", "value": result, "unit": ""}), flush=True)


if __name__ == "__main__":
    main()
