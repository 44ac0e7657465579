"""Stable-Baselines3 A2C on CartPole-v1 with rl-baselines3-zoo's settings (8 environments, MlpPolicy,
entropy 0, SB3's A2C defaults otherwise), on one torch thread, evaluated as `scripts/bench-onpolicy.sh`
evaluates ours: 20 deterministic episodes every 10,000 env steps, and 50 at the end. Prints one JSON
object per seed: the env steps and training seconds to the first evaluation >= 475 (evaluation time is
kept out of the seconds), and the final evaluation."""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import A2C
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from sb3_gym import evaluate as evaluate_episodes  # beside this file: deterministic episodes from seed + i

ENV, SOLVED_RETURN, EVAL_EVERY, EVAL_EPISODES, FINAL_EPISODES, EVAL_SEED = "CartPole-v1", 475.0, 10_000, 20, 50, 1_000_003


class Evaluations(BaseCallback):
    """Evaluates each time training crosses a multiple of EVAL_EVERY env steps (8 arrive per call)."""

    def __init__(self) -> None:
        super().__init__()
        self.eval_env = gym.make(ENV)
        self.eval_seconds = 0.0
        self.next_mark = EVAL_EVERY
        self.first_solve: dict[str, float] | None = None
        self.returns: list[float] = []
        self.start = time.perf_counter()

    def _on_step(self) -> bool:
        if self.num_timesteps < self.next_mark:
            return True
        while self.next_mark <= self.num_timesteps:
            self.next_mark += EVAL_EVERY
        before = time.perf_counter()
        mean_return = float(np.mean(evaluate_episodes(self.model, self.eval_env, EVAL_EPISODES, EVAL_SEED)))
        self.eval_seconds += time.perf_counter() - before
        self.returns.append(round(mean_return, 1))
        if self.first_solve is None and mean_return >= SOLVED_RETURN:
            self.first_solve = {"env_steps": self.num_timesteps,
                                "training_seconds": round(time.perf_counter() - self.start - self.eval_seconds, 2)}
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--max-env-steps", type=int, default=500_000, help="rl-zoo's n_timesteps for CartPole-v1")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in (int(s) for s in args.seeds.split(",")):
        env = make_vec_env(ENV, n_envs=8, seed=seed)
        model = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu")
        callback = Evaluations()
        model.learn(total_timesteps=args.max_env_steps, callback=callback)
        wall = time.perf_counter() - callback.start
        final = evaluate_episodes(model, callback.eval_env, FINAL_EPISODES, EVAL_SEED)
        print(json.dumps({"seed": seed, "first_solved": callback.first_solve, "final_mean": round(float(np.mean(final)), 1),
                          "training_seconds": round(wall - callback.eval_seconds, 2), "env_steps": model.num_timesteps,
                          "evaluations": callback.returns}), flush=True)


if __name__ == "__main__":
    main()
