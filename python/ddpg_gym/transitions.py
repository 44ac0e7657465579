"""Rows waiting to be sent, in the wire format's column order."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TransitionBuffer:
    """Rows waiting to be sent; room for one message plus one step of every environment."""

    capacity: int
    observation_size: int
    action_size: int
    count: int = 0
    started_at: float = 0.0
    observations: np.ndarray = field(init=False)
    actions: np.ndarray = field(init=False)
    rewards: np.ndarray = field(init=False)
    discounts: np.ndarray = field(init=False)
    next_observations: np.ndarray = field(init=False)
    terminated: np.ndarray = field(init=False)
    truncated: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.observations = np.zeros((self.capacity, self.observation_size), np.float32)
        self.actions = np.zeros((self.capacity, self.action_size), np.float32)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.discounts = np.zeros(self.capacity, np.float32)
        self.next_observations = np.zeros((self.capacity, self.observation_size), np.float32)
        self.terminated = np.zeros(self.capacity, bool)
        self.truncated = np.zeros(self.capacity, bool)

    def extend(self, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, discounts: np.ndarray,
               next_observations: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> None:
        end = self.count + len(rewards)
        self.observations[self.count:end] = observations
        self.actions[self.count:end] = actions
        self.rewards[self.count:end] = rewards
        self.discounts[self.count:end] = discounts
        self.next_observations[self.count:end] = next_observations
        self.terminated[self.count:end] = terminated
        self.truncated[self.count:end] = truncated
        self.count = end

    def rows(self, start: int, end: int) -> tuple[np.ndarray, ...]:
        return (self.observations[start:end], self.actions[start:end], self.rewards[start:end], self.discounts[start:end],
                self.next_observations[start:end], self.terminated[start:end], self.truncated[start:end])
