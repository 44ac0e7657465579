"""`ddpg-gym-worker`: steps gymnasium environments and streams their transitions to a ddpg learner.

The same process as the Swift `ddpg worker`, and built the same way: a protocol `Session` (session.py,
the Swift `WorkerCore`) that greets every learner it sees, paces itself by the learner's credit and never
blocks on a send; and around it an acting loop (gymnasium's vector API; uniformly random actions before
the first weights, then a numpy forward pass of the newest actor: sampled if it is stochastic, as SAC's is,
or else plus exploration noise) or, with --evaluator, an evaluating loop that plays the episodes the
learner asks for with the weights that asked.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import wire
from .actor_critic import LossSettings, actor_critic_gradient
from .adder import NStepAdder
from .behaviour import BehaviourPolicy
from .config import WorkerConfig
from .episodes import play
from .noise import Noise
from .session import Act, Session, Stopped, Transport, Wait
from .spec import spec_of
from .transitions import TransitionBuffer
from .transport import ZmqTransport

__all__ = ["GymWorker", "StopFlag", "TransitionBuffer", "WorkerConfig", "play"]

log = logging.getLogger("ddpg.gym_worker")


class StopFlag:
    """Set by SIGINT/SIGTERM, or when the parent (`ddpg launch`) is gone."""

    def __init__(self, parent_pid: int | None = None) -> None:
        self.requested = False
        self.parent_pid = parent_pid

    def install(self) -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._handle)

    def _handle(self, number: int, frame: Any) -> None:
        self.requested = True

    def __bool__(self) -> bool:
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            self.requested = True
        return self.requested


class GymWorker:
    """One worker process: its environments, its session with the learner, and its loop."""

    EPISODES_PER_CHUNK = 10

    def __init__(self, config: WorkerConfig, make_env: Callable[[], Any] | None = None, stop: StopFlag | None = None,
                 transport: Transport | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        import gymnasium as gym

        self.config = config
        # Not `stop or …`: an unset flag is falsy, and the caller's flag is the one its signal handler sets.
        self.stop = stop if stop is not None else StopFlag(config.parent_pid)
        self._make_env = make_env or (lambda: gym.make(config.env))
        probe = self._make_env()
        try:
            self.spec = spec_of(probe, config.env)
        finally:
            probe.close()
        self.transport: Transport = transport if transport is not None else ZmqTransport(config)
        self.session = Session(config, self.spec, self.transport, clock=clock, stop=lambda: bool(self.stop))
        self._warned_no_value_network = False
        # Independent of other workers' streams and of the learner's.
        self.rng = np.random.default_rng([config.seed, 1_000 + config.worker_id])

    def close(self) -> None:
        if isinstance(self.transport, ZmqTransport):
            self.transport.close()

    def run(self) -> dict[str, object]:
        try:
            if self.config.evaluator:
                reason = self._evaluate()
            elif self.config.rollout_steps is not None:
                reason = self._act_on_policy(self.config.rollout_steps)
            else:
                if self.spec.discrete_actions is not None:
                    raise SystemExit(f"--env: {self.spec.id}'s action space is Discrete({self.spec.discrete_actions}): "
                                     "only an on-policy (a2c) learner trains it, and its workers need --rollout-steps")
                reason = self._act()
            report = self.session.report(reason)
            if self.config.stats_file:
                tmp = self.config.stats_file + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(report, f, indent=2, sort_keys=True)
                os.replace(tmp, self.config.stats_file)
            return report
        finally:
            self.close()

    def _make_vector_env(self) -> Any:
        import gymnasium as gym
        from gymnasium.vector import AutoresetMode

        c = self.config
        makers = [self._make_env] * c.envs_per_worker
        if c.vectorization == "async":
            return gym.vector.AsyncVectorEnv(makers, autoreset_mode=AutoresetMode.SAME_STEP)
        return gym.vector.SyncVectorEnv(makers, autoreset_mode=AutoresetMode.SAME_STEP)

    def _next(self) -> str | None:
        """Asks the session what to do: None to go on, else why the worker stopped. Waits as it says."""
        while True:
            next_ = self.session.poll()
            if isinstance(next_, Act):
                return None
            if isinstance(next_, Stopped):
                return next_.reason
            assert isinstance(next_, Wait)
            self.transport.wait(next_.seconds, next_.sending)

    def _act(self) -> str:
        c, spec, session = self.config, self.spec, self.session
        k = c.envs_per_worker
        log.info("worker %d of %d: %d × %s, %s noise σ %.4f for a deterministic actor (a stochastic one samples), learner %s",
                 c.worker_id, c.workers, k, spec.id, c.noise, c.sigma, c.endpoint(c.transitions_port))
        envs = self._make_vector_env()
        noise = Noise(c.noise, c.sigma, k, spec.action_size, self.rng, c.ou_theta, c.ou_dt)
        behaviour = BehaviourPolicy(spec)
        adders = [NStepAdder(c.n_step, c.gamma) for _ in range(k)]
        # Each environment its own seed, apart from every other worker's.
        observations, _ = envs.reset(seed=c.seed * 1_000_003 + c.worker_id * 4_096)
        observations = observations.reshape(k, -1).astype(np.float32)
        returns, lengths = np.zeros(k), np.zeros(k, dtype=np.int64)
        try:
            while (reason := self._next()) is None:
                actions = behaviour.act(session.actor, observations, noise, self.rng)
                next_observations, rewards, terminated, truncated, infos = envs.step(actions.reshape((k, *envs.single_action_space.shape)))
                next_observations = next_observations.reshape(k, -1).astype(np.float32)
                final = next_observations.copy()
                if "_final_obs" in infos:
                    for i in np.flatnonzero(infos["_final_obs"]):
                        final[i] = np.asarray(infos["final_obs"][i], dtype=np.float32).ravel()
                rewards = np.asarray(rewards, dtype=np.float64)
                self._add(adders, observations, actions, rewards, final, np.asarray(terminated), np.asarray(truncated))
                returns += rewards
                lengths += 1
                for i in np.flatnonzero(np.logical_or(terminated, truncated)):
                    session.episode_ended(int(lengths[i]), float(returns[i]))
                    returns[i], lengths[i] = 0, 0
                    noise.reset(int(i))
                observations = next_observations
                session.stepped(k)
            return reason
        finally:
            envs.close()

    def _act_on_policy(self, steps: int) -> str:
        """An on-policy worker: with the newest weights, every environment acts `steps` steps drawing from the policy.
        A2C's sends them as one segment (environment-major rows), then waits for weights applied after it, which trained
        on it. A3C's (--gradients) computes the actor–critic gradient of the segment itself, sends that, and acts on."""
        c, spec, session = self.config, self.spec, self.session
        k, o, a = c.envs_per_worker, spec.observation_size, spec.action_size
        loss = LossSettings(c.gamma, c.gae_lambda, c.vf_coef, c.entropy_coefficient, c.normalize_advantage) if c.gradients else None
        sends = f"A3C gradients (entropy coefficient {loss.ent_coef})" if loss else "on-policy segments"
        log.info("worker %d of %d: %d × %s, %s of %d steps, learner %s", c.worker_id, c.workers, k, spec.id, sends, steps,
                 c.endpoint(c.transitions_port))
        envs = self._make_vector_env()
        observations, _ = envs.reset(seed=c.seed * 1_000_003 + c.worker_id * 4_096)
        observations = observations.reshape(k, -1).astype(np.float32)
        returns, lengths = np.zeros(k), np.zeros(k, dtype=np.int64)
        applied_at_last_segment = -1
        try:
            while (reason := self._next()) is None:
                actor, weights = session.actor, session.applied_weights
                waits_for_its_round = loss is None
                if (actor is None or weights is None or not actor.is_on_policy
                        or (waits_for_its_round and session.weights_applied <= applied_at_last_segment)):
                    # Woken by the next publication; the learner publishes again while a round waits.
                    session.status_if_due()
                    self.transport.wait(0.05, False)
                    continue
                seen = np.zeros((steps, k, o), np.float32)
                drawn = np.zeros((steps, k, a), np.float32)
                rewards = np.zeros((steps, k), np.float32)
                log_probabilities = np.zeros((steps, k), np.float32)
                terminated = np.zeros((steps, k), bool)
                truncated = np.zeros((steps, k), bool)
                finals: dict[tuple[int, int], np.ndarray] = {}
                for t in range(steps):
                    seen[t] = observations
                    drawn[t], log_probabilities[t] = actor.sample_with_log_probabilities(observations, self.rng)
                    stepped = actor.clip(drawn[t])
                    env_actions = stepped[:, 0].astype(np.int64) if spec.discrete_actions is not None else \
                        stepped.reshape((k, *envs.single_action_space.shape))
                    next_observations, r, term, trunc, infos = envs.step(env_actions)
                    next_observations = next_observations.reshape(k, -1).astype(np.float32)
                    rewards[t], terminated[t], truncated[t] = r, term, trunc
                    for i in np.flatnonzero(np.asarray(trunc) & ~np.asarray(term)):
                        finals[(int(i), t)] = np.asarray(infos["final_obs"][i], dtype=np.float32).ravel()
                    returns += np.asarray(r, dtype=np.float64)
                    lengths += 1
                    for i in np.flatnonzero(np.logical_or(term, trunc)):
                        session.episode_ended(int(lengths[i]), float(returns[i]))
                        returns[i], lengths[i] = 0, 0
                    observations = next_observations
                # Environment-major: row e·steps + t is environment e's step t; truncation observations in that row order.
                cut = [finals[(e, t)] for e in range(k) for t in range(steps) if (e, t) in finals]
                segment = wire.Segment(
                    c.worker_id, session.session, 0, weights.publication.version, steps, seen.transpose(1, 0, 2).reshape(-1, o),
                    drawn.transpose(1, 0, 2).reshape(-1, a), rewards.T.ravel(), log_probabilities.T.ravel(), observations.copy(),
                    np.stack(cut) if cut else np.zeros((0, o), np.float32), terminated.T.ravel(), truncated.T.ravel())
                if loss is None:
                    session.queue_segment(segment)
                else:
                    self._queue_gradient(weights, segment, loss)
                applied_at_last_segment = session.weights_applied
                session.stepped(k * steps)
            return reason
        finally:
            envs.close()

    def _queue_gradient(self, weights: wire.Weights, segment: wire.Segment, loss: LossSettings) -> None:
        if weights.value_layer_sizes is None:
            # Weights without a value network come from no a3c learner: an a2c learner wants segments.
            if not self._warned_no_value_network:
                log.warning("--gradients, but the learner's weights carry no value network: is it an a3c learner? Nothing is sent")
                self._warned_no_value_network = True
            return
        gradient = actor_critic_gradient(weights, segment, loss)
        self.session.queue_gradient(wire.Gradient(
            self.config.worker_id, self.session.session, 0, weights.publication.version, segment.rows, gradient.policy, gradient.value,
            policy_loss=gradient.policy_loss, value_loss=gradient.value_loss, entropy=gradient.entropy,
            explained_variance=gradient.explained_variance))

    def _add(self, adders: list[NStepAdder], observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
             next_observations: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Turns one step of every environment into rows: directly for one-step returns, through each
        environment's n-step adder otherwise."""
        if self.config.n_step == 1:
            gamma = np.float32(self.config.gamma)
            discounts = np.where(terminated, np.float32(0), gamma).astype(np.float32)
            self.session.add(observations, actions, rewards, discounts, next_observations, terminated, truncated)
            return
        rows = [row for i, adder in enumerate(adders)
                for row in adder.add(observations[i], actions[i], float(rewards[i]), next_observations[i], bool(terminated[i]),
                                     bool(truncated[i]))]
        if rows:
            self.session.add(np.stack([r.observation for r in rows]), np.stack([r.action for r in rows]),
                             np.array([r.reward for r in rows]), np.array([r.discount for r in rows], np.float32),
                             np.stack([r.next_observation for r in rows]), np.array([r.terminated for r in rows]),
                             np.array([r.truncated for r in rows]))

    def _evaluate(self) -> str:
        c, session = self.config, self.session
        log.info("evaluator %d: %s, learner %s", c.worker_id, self.spec.id, c.endpoint(c.transitions_port))
        envs: list[Any] = []
        try:
            while (reason := self._next()) is None:
                taken = session.take_evaluation_request()
                if taken is None:
                    session.status_if_due()
                    self.transport.wait(0.05, False)
                    continue
                request, publication, actor = taken
                started = session.elapsed
                returns: list[float] = []
                lengths: list[int] = []
                # In chunks, with a status between them: the learner counts a silent evaluator as gone.
                while len(returns) < request.episodes:
                    n = min(self.EPISODES_PER_CHUNK, request.episodes - len(returns))
                    while len(envs) < n:
                        envs.append(self._make_env())
                    chunk_returns, chunk_lengths = play(actor, envs[:n], request.seed, len(returns))
                    returns += chunk_returns
                    lengths += chunk_lengths
                    # Without reading the learner: weights applied now would change the actor mid-evaluation.
                    session.status_if_due()
                    session.send_queued()
                    if self.stop:
                        break
                if len(returns) < request.episodes:
                    continue
                session.evaluated(request, publication, returns, lengths)
                log.log(logging.INFO if request.final else logging.DEBUG,
                        "%sevaluation of weights v%d (%d env steps): %.1f over %d episodes in %.0f ms",
                        "final " if request.final else "", publication.version, publication.env_steps,
                        float(np.mean(returns)), len(returns), (session.elapsed - started) * 1_000)
            return reason
        finally:
            for env in envs:
                env.close()
