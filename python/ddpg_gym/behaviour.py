"""The policy that collects experience, as the Swift worker's `BehaviourPolicy` (the Policy module) has it:
uniformly random actions before there is an actor, then a stochastic actor's draws, or a deterministic actor's
action plus exploration noise in units of each dimension's half-range (CleanRL's `normal(0, action_scale · σ)`),
clipped to the bounds."""

from __future__ import annotations

import numpy as np

from .actor import NumpyActor
from .noise import Noise
from .wire import EnvironmentSpec


class BehaviourPolicy:
    def __init__(self, spec: EnvironmentSpec) -> None:
        self.low, self.high = spec.action_low, spec.action_high
        self.half_range = (spec.action_high - spec.action_low) / np.float32(2)

    def act(self, actor: NumpyActor | None, observations: np.ndarray, noise: Noise, rng: np.random.Generator) -> np.ndarray:
        """Actions for a batch of observations: explored through `noise`, or drawn from `rng` before any actor."""
        if actor is None:
            actions = rng.uniform(self.low, self.high, size=(len(observations), self.low.size)).astype(np.float32)
        elif actor.is_stochastic:
            actions = actor.sample(observations, rng)  # it explores by itself: no noise on top
        else:
            actions = actor(observations) + (self.half_range * noise.sample()).astype(np.float32)
        np.clip(actions, self.low, self.high, out=actions)
        return actions
