"""n-step transitions from one environment's steps, as `ddpg worker` makes them (Acme's NStepTransitionAdder).

Each emitted row is (s_t, a_t, R = Σ_{i<k} γ^i r_{t+i}, discount = γ^k, s_{t+k}) with k = n while the
episode runs. When it ends, every pending step is emitted with the steps it has (k < n): a termination
cuts the return (discount 0), a truncation bootstraps from the last observation (discount γ^k). The
learner's target is r + discount · Q′(s′, μ′(s′)); with n = 1 that is the one-step target.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np


class Row(NamedTuple):
    observation: np.ndarray
    action: np.ndarray
    reward: float
    discount: float
    next_observation: np.ndarray
    terminated: bool
    truncated: bool


class NStepAdder:
    def __init__(self, n: int, gamma: float) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.n = n
        # γ as the learner holds it (Float32), its powers by repeated products as the Swift adder forms them.
        g = float(np.float32(gamma))
        self.powers = [1.0]
        for _ in range(n):
            self.powers.append(self.powers[-1] * g)
        self.pending: deque[tuple[np.ndarray, np.ndarray, float]] = deque()

    def add(self, observation: np.ndarray, action: np.ndarray, reward: float, next_observation: np.ndarray,
            terminated: bool, truncated: bool) -> list[Row]:
        """Records one step; returns the rows it completes (the one n steps back, or all pending at an episode's end)."""
        self.pending.append((observation.copy(), action.copy(), float(reward)))
        rows: list[Row] = []
        if terminated or truncated:
            while self.pending:
                rows.append(self._oldest(len(self.pending), next_observation, terminated, truncated))
        elif len(self.pending) == self.n:
            rows.append(self._oldest(self.n, next_observation, False, False))
        return rows

    def reset(self) -> None:
        """Forgets pending steps (an environment reset without its episode ending)."""
        self.pending.clear()

    def _oldest(self, k: int, next_observation: np.ndarray, terminated: bool, truncated: bool) -> Row:
        total = sum(self.powers[i] * step[2] for i, step in enumerate(list(self.pending)[:k]))
        observation, action, _ = self.pending.popleft()
        discount = 0.0 if terminated else float(np.float32(self.powers[k]))
        return Row(observation, action, total, discount, next_observation.copy(), bool(terminated), bool(truncated))
