"""Where a Python worker's time goes, per env step, for one gymnasium environment: stepping the
vector environment, the numpy actor's forward pass, noise and clipping, and encoding the
transitions message. Prints one JSON object per environment count."""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from ddpg_gym import wire
from ddpg_gym.actor import NumpyActor
from ddpg_gym.spec import spec_of


def per_step(fn, steps: int) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - began) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", required=True)
    parser.add_argument("--hidden", default="400,300")
    parser.add_argument("--envs", default="1,8")
    parser.add_argument("--steps", type=int, default=2_000)
    args = parser.parse_args()
    hidden = [int(h) for h in args.hidden.split(",")]
    for k in (int(e) for e in args.envs.split(",")):
        envs = gym.make_vec(args.env, num_envs=k, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
        spec = spec_of(envs, args.env)
        sizes = [spec.observation_size, *hidden, spec.action_size]
        rng = np.random.default_rng(0)
        parameters = (rng.standard_normal(wire.parameter_count(sizes)) * 0.05).astype(np.float32)
        actor = NumpyActor(wire.Weights(wire.Publication(1, 0, 0), 1, 0, sizes, spec.action_low, spec.action_high, parameters), spec)
        observations, _ = envs.reset(seed=0)
        observations = observations.reshape(k, -1).astype(np.float32)
        actions = actor(observations)
        step = lambda: envs.step(actions)  # noqa: E731
        forward = lambda: actor(observations)  # noqa: E731
        half = (spec.action_high - spec.action_low) / 2

        def noise() -> None:
            a = actor(observations) * 0 + (half * 0.1 * rng.standard_normal((k, spec.action_size))).astype(np.float32)
            np.clip(a, spec.action_low, spec.action_high, out=a)

        rows = 64
        message = wire.Transitions(1, 1, 0, 1, np.zeros((rows, spec.observation_size), np.float32), np.zeros((rows, spec.action_size), np.float32),
                                   np.zeros(rows, np.float32), np.full(rows, 0.99, np.float32), np.zeros((rows, spec.observation_size), np.float32),
                                   np.zeros(rows, bool), np.zeros(rows, bool))
        n = max(200, args.steps // k)
        step_s, forward_s, noise_s = per_step(step, n), per_step(forward, n), per_step(noise, n) - per_step(forward, n)
        encode_s = per_step(lambda: wire.encode(message), 2_000) / rows * k
        total = step_s + forward_s + max(noise_s, 0) + encode_s
        print(json.dumps({"env": args.env, "envs_per_worker": k, "actor": sizes, "microseconds_per_env_step": {
            "environment": 1e6 * step_s / k, "actor_forward": 1e6 * forward_s / k, "noise_and_clip": 1e6 * max(noise_s, 0) / k,
            "encode": 1e6 * encode_s / k}, "bound_env_steps_per_second": k / total}))
        envs.close()


if __name__ == "__main__":
    main()
