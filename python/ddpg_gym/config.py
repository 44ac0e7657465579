"""What defines one worker process: the flags of `ddpg worker`, for gymnasium environments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .noise import effective_sigma


@dataclass
class WorkerConfig:
    env: str = "Pendulum-v1"
    learner: str = "127.0.0.1"
    transitions_port: int = 5555
    weights_port: int = 5556
    worker_id: int = 0
    workers: int = 1
    seed: int = 1
    envs_per_worker: int = 1
    vectorization: str = "sync"
    evaluator: bool = False
    noise: str = "gaussian"
    noise_sigma: float = 0.2
    noise_spread_alpha: float = 1.0
    noise_sigmas: tuple[float, ...] = ()
    ou_theta: float = 0.15
    ou_dt: float = 1e-2
    transitions_per_message: int = 64
    flush_ms: float = 5.0
    n_step: int = 1
    gamma: float = 0.99
    rollout_steps: int | None = None  # on-policy (an a2c learner): steps per environment in each segment; None: transitions
    # A3C (with rollout_steps): send the actor–critic gradient of each segment instead, with these loss settings (the learner's).
    gradients: bool = False
    gae_lambda: float = 1.0
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    ent_coefs: tuple[float, ...] = ()  # per worker: worker i uses entry i modulo the length (overrides the spread)
    ent_coef_spread: float = 0.01  # worker i of N adds ent_coef_spread · i/(N − 1): workers explore differently (the Swift worker's)
    normalize_advantage: bool = False
    status_seconds: float = 1.0
    max_env_steps: int = 0
    send_timeout: float = 5.0
    curve_secret_key: str | None = None  # Z85
    learner_public_key: str | None = None  # Z85
    evaluator_token: bytes = bytes(32)  # an evaluator's (--evaluator-token or DDPG_EVALUATOR_TOKEN), zero-padded; zeros: none
    stats_file: str | None = None
    parent_pid: int | None = None

    @property
    def sigma(self) -> float:
        return effective_sigma(self.noise_sigma, self.worker_id, self.workers, self.noise_spread_alpha, self.noise_sigmas)

    @property
    def entropy_coefficient(self) -> float:
        if self.ent_coefs:
            return self.ent_coefs[self.worker_id % len(self.ent_coefs)]
        if self.workers <= 1:
            return self.ent_coef
        # In float32, as the Swift worker computes it.
        share = np.float32(self.worker_id % self.workers) / np.float32(self.workers - 1)
        return float(np.float32(self.ent_coef) + np.float32(self.ent_coef_spread) * share)

    def endpoint(self, port: int) -> str:
        host = f"[{self.learner}]" if ":" in self.learner and not self.learner.startswith("[") else self.learner
        return f"tcp://{host}:{port}"
