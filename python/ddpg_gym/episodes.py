"""Deterministic evaluation episodes, as an evaluator plays them for the learner."""

from __future__ import annotations

from typing import Any

import numpy as np

from .actor import NumpyActor


def play(actor: NumpyActor, envs: list[Any], seed: int, first: int) -> tuple[list[float], list[int]]:
    """Plays one deterministic episode on each of `envs` in lockstep (no noise); episode `first + i`
    starts from `reset(seed=seed + first + i)`, so a request's episodes do not depend on the chunking."""
    n = len(envs)
    observations = [np.asarray(env.reset(seed=seed + first + i)[0], dtype=np.float32).ravel() for i, env in enumerate(envs)]
    returns, lengths = [0.0] * n, [0] * n
    live = list(range(n))
    while live:
        actions = actor(np.stack([observations[i] for i in live]))
        still = []
        for row, i in enumerate(live):
            # A Discrete space steps with the index itself; a Box with the action's shape.
            action = int(actions[row][0]) if actor.head == "categorical" else actions[row].reshape(envs[i].action_space.shape)
            observation, reward, terminated, truncated, _ = envs[i].step(action)
            returns[i] += float(reward)
            lengths[i] += 1
            observations[i] = np.asarray(observation, dtype=np.float32).ravel()
            if not (terminated or truncated):
                still.append(i)
        live = still
    return returns, lengths

