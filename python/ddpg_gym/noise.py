"""Exploration noise, as the Swift worker draws it: σ in units of each dimension's half-range."""

from __future__ import annotations

import numpy as np


def effective_sigma(sigma: float, worker_id: int, workers: int, alpha: float = 1.0, sigmas: tuple[float, ...] = ()) -> float:
    """Ape-X's spread: worker i of N explores with σ^(1 + α·i/(N−1)); an explicit list wins."""
    if sigmas:
        return sigmas[worker_id % len(sigmas)]
    if workers <= 1:
        return sigma
    return float(sigma ** (1 + alpha * (worker_id % workers) / (workers - 1)))


class Noise:
    """Gaussian, Ornstein–Uhlenbeck or none, for `count` environments of `size` action dimensions each."""

    KINDS = ("gaussian", "ou", "none")

    def __init__(self, kind: str, sigma: float, count: int, size: int, rng: np.random.Generator,
                 theta: float = 0.15, dt: float = 1e-2) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown noise '{kind}'; use {', '.join(self.KINDS)}")
        self.kind, self.sigma, self.theta, self.dt, self.rng = kind, sigma, theta, dt, rng
        self.state = np.zeros((count, size))

    def sample(self) -> np.ndarray:
        if self.kind == "none":
            return np.zeros_like(self.state)
        if self.kind == "gaussian":
            sample: np.ndarray = self.sigma * self.rng.standard_normal(self.state.shape)
            return sample
        self.state += self.theta * -self.state * self.dt + self.sigma * np.sqrt(self.dt) * self.rng.standard_normal(self.state.shape)
        drawn: np.ndarray = self.state.copy()
        return drawn

    def reset(self, index: int) -> None:
        """Restarts environment `index`'s OU process at its mean, at the start of its episode."""
        self.state[index] = 0
