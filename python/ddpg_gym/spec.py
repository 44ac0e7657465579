"""An environment's spec as the learner needs it, read from a gymnasium environment."""

from __future__ import annotations

from typing import Any

import numpy as np

from .wire import MAX_DIMENSION, MAX_DISCRETE_ACTIONS, MAX_ID_LENGTH, EnvironmentSpec


class EnvironmentError_(ValueError):
    """An environment this worker cannot run; the message says why."""


def wire_id(env_id: str) -> str:
    """The id a hello carries: gymnasium's `module:Name-v0` form names the module only to import it."""
    return env_id.split(":", 1)[-1]


def spec_of(env: Any, env_id: str) -> EnvironmentSpec:
    """The spec of a gymnasium environment (or of one copy of a vector environment's).

    Raises ``EnvironmentError_`` for an action space that is neither a bounded ``Box`` nor a ``Discrete``
    starting at 0 (an on-policy learner's: protocol 7), or an observation space that is not a ``Box``.
    """
    import gymnasium as gym

    observation_space = getattr(env, "single_observation_space", env.observation_space)
    action_space = getattr(env, "single_action_space", env.action_space)
    discrete: int | None = None
    if isinstance(action_space, gym.spaces.Discrete):
        discrete = int(action_space.n)
        if int(action_space.start) != 0 or not 2 <= discrete <= MAX_DISCRETE_ACTIONS:
            raise EnvironmentError_(f"{env_id}: its action space is {action_space}; the protocol carries Discrete(n) from 0, "
                                    f"n in 2…{MAX_DISCRETE_ACTIONS}")
    elif not isinstance(action_space, gym.spaces.Box):
        raise EnvironmentError_(f"{env_id}: its action space is {action_space}, neither a Box nor a Discrete")
    if not isinstance(observation_space, gym.spaces.Box):
        raise EnvironmentError_(f"{env_id}: its observation space is {observation_space}, not a Box "
                                "(wrap it, e.g. with gymnasium.wrappers.FlattenObservation)")
    if discrete is not None:
        low, high = np.zeros(1, np.float32), np.array([discrete - 1], np.float32)
    else:
        low, high = action_space.low.ravel(), action_space.high.ravel()
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise EnvironmentError_(f"{env_id}: its action space {action_space} is unbounded; DDPG's actor needs finite bounds")
    name = wire_id(env_id)
    if not 1 <= len(name.encode()) <= MAX_ID_LENGTH:
        raise EnvironmentError_(f"{env_id}: the id must have 1 to {MAX_ID_LENGTH} bytes")
    for what, size in (("observation", observation_space.shape), ("action", low.shape)):
        if not 1 <= int(np.prod(size)) <= MAX_DIMENSION:
            raise EnvironmentError_(f"{env_id}: its {what} has {int(np.prod(size))} dimensions; the protocol allows 1 to {MAX_DIMENSION}")
    limit = _episode_limit(env)
    if limit is None:
        raise EnvironmentError_(f"{env_id}: it has no episode limit (max_episode_steps); register it with one, "
                                "or wrap it in gymnasium.wrappers.TimeLimit")
    # gymnasium 1.x declares no reward range: the learner checks rewards against its own, capped at ±1e6.
    return EnvironmentSpec(name, _unbounded_beyond_float32(_f32_outward(observation_space.low.ravel(), down=True)),
                           _unbounded_beyond_float32(_f32_outward(observation_space.high.ravel(), down=False)), low.astype(np.float32),
                           high.astype(np.float32), -np.inf, np.inf, limit, discrete)


def _unbounded_beyond_float32(bounds: np.ndarray) -> np.ndarray:
    """gymnasium writes "no bound" as float32's largest value (CartPole's velocities) as often as ±inf: both are unbounded."""
    largest = np.finfo(np.float32).max
    bounds = bounds.copy()
    bounds[bounds >= largest] = np.inf
    bounds[bounds <= -largest] = -np.inf
    return bounds


def _f32_outward(values: np.ndarray, down: bool) -> np.ndarray:
    """float64 bounds as float32, rounded outward so that every float32 observation lies within them."""
    rounded = values.astype(np.float32)
    if values.dtype == np.float32:
        return rounded
    wrong = rounded < values if not down else rounded > values
    rounded[wrong] = np.nextafter(rounded[wrong], np.float32(np.inf if not down else -np.inf))
    return rounded


def _episode_limit(env: Any) -> int | None:
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    if limit is None and hasattr(env, "envs"):
        limit = getattr(getattr(env.envs[0], "spec", None), "max_episode_steps", None)
    return int(limit) if limit else None


def describe(env_id: str) -> dict[str, Any]:
    """What `ddpg launch` asks before it starts Python workers: the spec, and gymnasium's solved threshold."""
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        spec = spec_of(env, env_id)
        threshold = getattr(env.spec, "reward_threshold", None)
    finally:
        env.close()
    def bound(values: np.ndarray) -> list[float]:
        return [float(x) for x in values]

    return {"id": spec.id, "observation_size": spec.observation_size, "action_size": spec.action_size,
            "observation_low": bound(np.maximum(spec.observation_low, -1e6)), "observation_high": bound(np.minimum(spec.observation_high, 1e6)),
            "action_low": bound(spec.action_low), "action_high": bound(spec.action_high),
            "max_episode_steps": spec.max_episode_steps, "reward_threshold": threshold,
            **({"discrete_actions": spec.discrete_actions} if spec.discrete_actions is not None else {})}
