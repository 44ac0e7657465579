"""`ddpg-gym-worker`: steps gymnasium environments and streams their transitions to a ddpg learner.

The same process as the Swift `ddpg worker`, for any gymnasium environment with a Box action space:
acts uniformly at random until the first weights arrive and then with the newest (a numpy forward
pass, plus its own exploration noise); says hello to every learner it sees (so a restarted learner
is greeted again); paces itself by the learner's credit; and never blocks on a send for longer than
it takes to notice a stop. As an evaluator it sends no transitions: it plays the episodes the
learner asks for with the weights that asked, and reports their returns.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import zmq

from . import wire
from .actor import NumpyActor, ShapeError
from .adder import NStepAdder
from .credit import STALL_SECONDS, CreditWindow
from .episodes import play
from .noise import Noise, effective_sigma
from .spec import spec_of
from .transitions import TransitionBuffer

log = logging.getLogger("ddpg.gym_worker")


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
    status_seconds: float = 1.0
    max_env_steps: int = 0
    send_timeout: float = 5.0
    curve_secret_key: Optional[str] = None  # Z85
    learner_public_key: Optional[str] = None  # Z85
    stats_file: Optional[str] = None
    parent_pid: Optional[int] = None

    @property
    def sigma(self) -> float:
        return effective_sigma(self.noise_sigma, self.worker_id, self.workers, self.noise_spread_alpha, self.noise_sigmas)

    def endpoint(self, port: int) -> str:
        host = f"[{self.learner}]" if ":" in self.learner and not self.learner.startswith("[") else self.learner
        return f"tcp://{host}:{port}"


class StopFlag:
    """Set by SIGINT/SIGTERM, or when the parent (`ddpg launch`) is gone."""

    def __init__(self, parent_pid: Optional[int] = None) -> None:
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
    """One worker process's state: its sockets, its environments, and what it has sent."""

    EPISODES_PER_CHUNK = 10

    def __init__(self, config: WorkerConfig, make_env: Optional[Callable[[], Any]] = None, stop: Optional[StopFlag] = None) -> None:
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
        self.session = random.SystemRandom().randint(1, 2**32 - 1)
        self.rows_per_message = min(config.transitions_per_message,
                                    wire.max_transitions_per_message(self.spec.observation_size, self.spec.action_size))
        # An episode's end flushes up to n rows of its environment at once.
        self.buffer = TransitionBuffer(self.rows_per_message + config.envs_per_worker * config.n_step, self.spec.observation_size,
                                       self.spec.action_size)
        self.adders = [NStepAdder(config.n_step, config.gamma) for _ in range(config.envs_per_worker)]
        # The bounds the learner checks observations against: the spec's, capped at ±1e6.
        self.observation_low = np.maximum(self.spec.observation_low, np.float32(-1e6))
        self.observation_high = np.minimum(self.spec.observation_high, np.float32(1e6))
        # Independent of other workers' streams and of the learner's.
        self.rng = np.random.default_rng([config.seed, 1_000 + config.worker_id])

        self.actor: Optional[NumpyActor] = None
        self.weights_version = 0
        self.applied_publication: Optional[wire.Publication] = None
        self.applied_request: Optional[wire.EvaluationRequest] = None
        self.evaluated: Optional[tuple[int, int, bool]] = None
        self.latest_learner: Optional[int] = None
        self.latest_credit: Optional[int] = None
        self.greeted_learner: Optional[int] = None
        self.pending: Optional[wire.Weights] = None
        self.received_shutdown = False
        # Until a learner has announced its credit, one message.
        self.credit = CreditWindow(config.transitions_per_message)

        self.env_steps = self.transitions_sent = self.messages_sent = self.sequence = 0
        self.episodes = self.weights_applied = self.weights_rejected = self.evaluations = 0
        self.transitions_dropped = 0
        self.paced_seconds = 0.0
        self.latencies: list[float] = []
        self.start = time.monotonic()
        self.last_status = 0.0
        self.last_log = (0.0, 0)

        self.context = zmq.Context()
        self.push = self.context.socket(zmq.PUSH)
        # Everything queued was acted with weights that are getting older: the learner's credit bounds it,
        # and ZeroMQ's queue holds one message more. Queue only to a live connection, so that a send waits
        # for the learner instead of piling up. (A kernel buffer smaller than a message stalls loopback TCP.)
        self.push.setsockopt(zmq.SNDHWM, 1)
        self.push.setsockopt(zmq.SNDBUF, 64 << 10)
        self.push.setsockopt(zmq.IMMEDIATE, 1)
        self.push.setsockopt(zmq.LINGER, 2_000)
        self.sub = self.context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 16)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.MAXMSGSIZE, 64 << 20)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        for s in (self.push, self.sub):
            s.setsockopt(zmq.RECONNECT_IVL, 2)
            s.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
            if config.curve_secret_key:
                s.curve_secretkey = config.curve_secret_key.encode()
                s.curve_publickey = zmq.curve_public(config.curve_secret_key.encode())
                s.curve_serverkey = (config.learner_public_key or "").encode()
        self.push.connect(config.endpoint(config.transitions_port))
        self.sub.connect(config.endpoint(config.weights_port))
        self.poller = zmq.Poller()
        self.poller.register(self.push, zmq.POLLOUT)
        self.poller.register(self.sub, zmq.POLLIN)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def close(self) -> None:
        self.push.close()
        self.sub.close()
        self.context.term()

    # -- the loops --------------------------------------------------------------------------------

    def run(self) -> dict:
        try:
            reason = self._evaluate() if self.config.evaluator else self._act()
            return self._finish(reason)
        finally:
            self.close()

    def _make_vector_env(self) -> Any:
        import gymnasium as gym
        from gymnasium.vector import AutoresetMode

        c = self.config
        kwargs = {"autoreset_mode": AutoresetMode.SAME_STEP}
        if c.vectorization == "async":
            return gym.vector.AsyncVectorEnv([self._make_env] * c.envs_per_worker, **kwargs)
        return gym.vector.SyncVectorEnv([self._make_env] * c.envs_per_worker, **kwargs)

    def _act(self) -> str:
        c, spec = self.config, self.spec
        k = c.envs_per_worker
        log.info("worker %d of %d: %d × %s, σ %.4f (%s), learner %s", c.worker_id, c.workers, k, spec.id, c.sigma, c.noise,
                 c.endpoint(c.transitions_port))
        envs = self._make_vector_env()
        noise = Noise(c.noise, c.sigma, k, spec.action_size, self.rng, c.ou_theta, c.ou_dt)
        half_range = (spec.action_high - spec.action_low) / np.float32(2)
        # Each environment its own seed, apart from every other worker's.
        observations, _ = envs.reset(seed=c.seed * 1_000_003 + c.worker_id * 4_096)
        observations = observations.reshape(k, -1).astype(np.float32)
        returns, lengths = np.zeros(k), np.zeros(k, dtype=np.int64)
        self._send_hello()
        try:
            while True:
                if reason := self._stop_reason():
                    return reason
                if self.credit.is_exhausted(self.buffer.count) and self._await_credit():
                    return "learner_shutdown"
                if self.actor is not None:
                    actions = self.actor(observations) + (half_range * noise.sample()).astype(np.float32)
                    np.clip(actions, spec.action_low, spec.action_high, out=actions)
                else:
                    actions = self.rng.uniform(spec.action_low, spec.action_high, size=(k, spec.action_size)).astype(np.float32)
                    np.clip(actions, spec.action_low, spec.action_high, out=actions)
                next_observations, rewards, terminated, truncated, infos = envs.step(actions.reshape((k,) + envs.single_action_space.shape))
                next_observations = next_observations.reshape(k, -1).astype(np.float32)
                final = next_observations.copy()
                if "_final_obs" in infos:
                    for i in np.flatnonzero(infos["_final_obs"]):
                        final[i] = np.asarray(infos["final_obs"][i], dtype=np.float32).ravel()
                rewards = np.asarray(rewards, dtype=np.float64)
                self._add(observations, actions, rewards, final, np.asarray(terminated), np.asarray(truncated))
                returns += rewards
                lengths += 1
                for i in np.flatnonzero(np.logical_or(terminated, truncated)):
                    self._send_episode(int(lengths[i]), float(returns[i]))
                    returns[i], lengths[i] = 0, 0
                    noise.reset(i)
                observations = next_observations
                self.env_steps += k
                if self.buffer.count >= self.rows_per_message or self.elapsed - self.buffer.started_at >= c.flush_ms / 1_000:
                    if not self._flush():
                        return "signal"
                if self.elapsed - self.last_status >= c.status_seconds:
                    self._send_status(final=False)
                if c.max_env_steps and self.env_steps >= c.max_env_steps:
                    return "max_env_steps"
                if self.elapsed - self.last_log[0] >= 10:
                    self._log_progress()
        finally:
            envs.close()

    def _add(self, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_observations: np.ndarray,
             terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Turns one step of every environment into rows: directly for one-step returns, through each
        environment's n-step adder otherwise."""
        if self.config.n_step == 1:
            gamma = np.float32(self.config.gamma)
            discounts = np.where(terminated, np.float32(0), gamma).astype(np.float32)
            self._buffer(observations, actions, rewards, discounts, next_observations, terminated, truncated)
            return
        rows = [row for i, adder in enumerate(self.adders)
                for row in adder.add(observations[i], actions[i], float(rewards[i]), next_observations[i], bool(terminated[i]),
                                     bool(truncated[i]))]
        if rows:
            self._buffer(np.stack([r.observation for r in rows]), np.stack([r.action for r in rows]),
                         np.array([r.reward for r in rows]), np.array([r.discount for r in rows], np.float32),
                         np.stack([r.next_observation for r in rows]), np.array([r.terminated for r in rows]),
                         np.array([r.truncated for r in rows]))

    def _buffer(self, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, discounts: np.ndarray,
                next_observations: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Keeps the rows the learner will accept; a row with a value it would reject (NaN, or beyond the
        bounds) is dropped here and counted, rather than costing the whole message it would travel in."""
        low, high = self.observation_low, self.observation_high
        ok = (np.isfinite(rewards) & (np.abs(rewards) <= 1e6)
              & ((observations >= low) & (observations <= high)).all(axis=1)
              & ((next_observations >= low) & (next_observations <= high)).all(axis=1))
        if not ok.all():
            dropped = int((~ok).sum())
            self.transitions_dropped += dropped
            if self.transitions_dropped <= 10 or self.transitions_dropped % 1_000 == 0:
                log.warning("dropped %d transitions with an observation or reward the learner would reject (NaN, or outside "
                            "the spec's bounds capped at ±1e6); %d so far", dropped, self.transitions_dropped)
        if self.buffer.count == 0:
            self.buffer.started_at = self.elapsed
        self.buffer.extend(observations[ok], actions[ok], rewards[ok].astype(np.float32), discounts[ok], next_observations[ok],
                           np.asarray(terminated)[ok], np.asarray(truncated)[ok])

    def _evaluate(self) -> str:
        c = self.config
        log.info("evaluator %d: %s, learner %s", c.worker_id, self.spec.id, c.endpoint(c.transitions_port))
        self._send_hello()
        envs: list[Any] = []
        try:
            while True:
                if reason := self._stop_reason():
                    return reason
                request, publication = self.applied_request, self.applied_publication
                if (self.actor is not None and request is not None and publication is not None and self.greeted_learner is not None
                        and self.evaluated != (self.greeted_learner, request.mark, request.final)):
                    self.evaluated = (self.greeted_learner, request.mark, request.final)
                    started = self.elapsed
                    returns: list[float] = []
                    lengths: list[int] = []
                    # In chunks, with a status between them: the learner counts a silent evaluator as gone.
                    while len(returns) < request.episodes:
                        n = min(self.EPISODES_PER_CHUNK, request.episodes - len(returns))
                        while len(envs) < n:
                            envs.append(self._make_env())
                        chunk_returns, chunk_lengths = play(self.actor, envs[:n], request.seed, len(returns))
                        returns += chunk_returns
                        lengths += chunk_lengths
                        if self.elapsed - self.last_status >= c.status_seconds:
                            self._send_status(final=False)
                        if self.stop:
                            return "signal"
                    report = wire.EvaluationReport(c.worker_id, self.session, request.final, publication, returns, lengths)
                    self._send(wire.encode(report))
                    self.evaluations += 1
                    self.env_steps += sum(lengths)
                    log.log(logging.INFO if request.final else logging.DEBUG,
                            "%sevaluation of weights v%d (%d env steps): %.1f over %d episodes in %.0f ms",
                            "final " if request.final else "", publication.version, publication.env_steps,
                            float(np.mean(returns)), len(returns), (self.elapsed - started) * 1_000)
                    continue
                if self.elapsed - self.last_status >= c.status_seconds:
                    self._send_status(final=False)
                self.sub.poll(50)
        finally:
            for env in envs:
                env.close()

    def _stop_reason(self) -> Optional[str]:
        """Why to stop now, if at all: a signal (or the parent gone), or the learner's shutdown notice."""
        if self.stop:
            return "signal"
        if self._receive_weights():
            return "learner_shutdown"
        return None

    # -- weights, announcements and credit ----------------------------------------------------------

    def _drain(self) -> None:
        """Reads everything queued on the weights socket, keeping only the newest weights."""
        while self.sub.poll(0):
            try:
                data = self.sub.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                message = wire.decode(data)
            except wire.ProtocolError as error:
                self._reject(error.reason, error)
                continue
            if isinstance(message, wire.Weights):
                self.pending = message
                self.latest_learner = message.learner_id
            elif isinstance(message, wire.Announce):
                self.latest_learner = message.learner_id
                self.latest_credit = message.credit
                if message.learner_id == self.greeted_learner:
                    self._take_credit(message)
            elif isinstance(message, wire.Shutdown):
                self.received_shutdown = True
            else:
                self._reject("unexpected_kind", f"a {type(message).__name__} message on the weights socket")

    def _reject(self, reason: str, error: Any) -> None:
        self.weights_rejected += 1
        if self.weights_rejected <= 10 or self.weights_rejected % 1_000 == 0:
            log.warning("rejected a message on the weights socket (%s): %s; %d so far", reason, error, self.weights_rejected)

    def _receive_weights(self) -> bool:
        """Greets a new learner, then applies the newest weights. True once the learner said to stop."""
        self._drain()
        self._greet_new_learner()
        if self.pending is not None:
            # The transitions of one message share one weights version: send the old ones first.
            if self.buffer.count:
                self._flush()
            self._apply_pending()
        return self.received_shutdown

    def _greet_new_learner(self) -> None:
        if self.latest_learner is None or self.latest_learner == self.greeted_learner:
            return
        if self.greeted_learner is not None:
            log.info("a new learner (id %x) is publishing: the learner restarted; saying hello again", self.latest_learner)
        self.greeted_learner = self.latest_learner
        self.weights_version = 0
        # What the previous learner asked for or had not consumed means nothing to this one.
        self.applied_request = self.applied_publication = None
        self.credit.greeted(self.latest_credit if self.latest_credit is not None else self.config.transitions_per_message, self.elapsed)
        self._send_hello()

    def _apply_pending(self) -> None:
        weights, self.pending = self.pending, None
        if weights is None or weights.learner_id != self.greeted_learner:
            return
        try:
            actor = NumpyActor(weights, self.spec)
        except ShapeError as error:
            self._reject("dimension_mismatch", error)
            return
        if self.actor is None or self.actor.layer_sizes != actor.layer_sizes:
            log.info("acting with a %s actor from weights version %d", actor.layer_sizes, weights.publication.version)
        self.actor = actor
        self.weights_applied += 1
        self.weights_version = weights.publication.version
        self.applied_publication = weights.publication
        self.applied_request = weights.evaluation_request
        if len(self.latencies) < 100_000:
            self.latencies.append((time.time_ns() - weights.published_at_ns) / 1e6)

    def _take_credit(self, announce: wire.Announce) -> None:
        mine = next((a.next_sequence for a in announce.acknowledgements
                     if a.worker_id == self.config.worker_id and a.session == self.session), None)
        self.credit.announced(announce.credit, mine, self.elapsed)

    def _await_credit(self) -> bool:
        """Sends what it holds, then waits for the learner to consume enough, for as long as it keeps
        consuming this worker's data (see credit.py). True on a shutdown notice."""
        started = self.elapsed
        try:
            if self.buffer.count and not self._flush():
                return False
            while self.credit.is_exhausted() and not self.stop:
                if self.credit.is_stalled(self.elapsed, started):
                    log.debug("the learner consumed nothing of this worker's for %.1f s (credit %d, %d transitions "
                              "unacknowledged, acknowledged up to %d); sending anyway", STALL_SECONDS, self.credit.credit,
                              self.credit.unacknowledged_transitions, self.credit.acknowledged_sequence)
                    self.credit.give_up(self.elapsed)
                    break
                self.sub.poll(2)
                if self._receive_weights():
                    return True
            return False
        finally:
            self.paced_seconds += self.elapsed - started

    # -- sending ------------------------------------------------------------------------------------

    def _send(self, data: bytes, deadline: Optional[float] = None, apply_weights: bool = False) -> bool:
        """Sends without ever blocking for good: waits while the learner's queue is full or no learner is
        connected, reading weights meanwhile. False if asked to stop while waiting, or at `deadline`."""
        waited_since = self.elapsed
        next_warning = waited_since + self.config.send_timeout
        while True:
            try:
                self.push.send(data, zmq.NOBLOCK)
                self.messages_sent += 1
                return True
            except zmq.Again:
                pass
            if deadline is not None:
                if self.elapsed >= deadline:
                    return False
            elif self.stop:
                return False
            if self.elapsed >= next_warning:
                hint = (" (is --learner-public-key the learner's, and is this worker's public key in its --authorized-keys?)"
                        if self.config.curve_secret_key else "")
                log.warning("no learner has accepted data for %d s at %s; still trying%s", self.elapsed - waited_since,
                            self.config.endpoint(self.config.transitions_port), hint)
                next_warning = self.elapsed + 30
            ready = dict(self.poller.poll(50))
            if self.sub in ready:
                self._drain()
                if apply_weights and deadline is None and self.pending is not None and self.pending.learner_id == self.greeted_learner:
                    self._apply_pending()

    def _flush(self, deadline: Optional[float] = None) -> bool:
        """Sends the buffered rows in messages of at most rows_per_message. False if interrupted; what
        was sent by then leaves the buffer."""
        start = 0
        try:
            while start < self.buffer.count:
                end = min(self.buffer.count, start + self.rows_per_message)
                o, a, r, d, n, te, tr = self.buffer.rows(start, end)
                message = wire.Transitions(self.config.worker_id, self.session, self.sequence, self.weights_version, o, a, r, d, n, te, tr)
                # Encoded before waiting: weights applied during the wait cannot relabel these rows.
                if not self._send(wire.encode(message), deadline, apply_weights=True):
                    return False
                self.credit.sent(self.sequence, end - start)
                self.transitions_sent += end - start
                self.sequence += 1
                start = end
            return True
        finally:
            self.buffer.remove_first(start)

    def _send_hello(self) -> None:
        c = self.config
        hello = wire.Hello(c.worker_id, self.session, c.envs_per_worker, c.seed, self.spec,
                           "evaluator" if c.evaluator else "actor", self.sequence)
        self._send(wire.encode(hello))

    def _send_episode(self, length: int, episode_return: float) -> None:
        self.episodes += 1
        self._send(wire.encode(wire.EpisodeReport(self.config.worker_id, self.session, length, episode_return, self.weights_version)))

    def _send_status(self, final: bool, deadline: Optional[float] = None) -> None:
        self.last_status = self.elapsed
        # The status counts itself among the messages sent.
        status = wire.WorkerStatus(self.config.worker_id, self.session, final, self.transitions_sent, self.episodes, self.messages_sent + 1)
        self._send(wire.encode(status), deadline)

    def _log_progress(self) -> None:
        now = self.elapsed
        rate = (self.env_steps - self.last_log[1]) / max(now - self.last_log[0], 1e-9)
        log.info("worker %d: %d steps | %d steps/s | %d sent | %d episodes | weights v%d", self.config.worker_id, self.env_steps,
                 rate, self.transitions_sent, self.episodes, self.weights_version)
        self.last_log = (now, self.env_steps)

    def _finish(self, reason: str) -> dict:
        """Flushes what is buffered and says goodbye, each within a bounded wait; returns the report."""
        deadline = self.elapsed + 3
        flushed = self._flush(deadline)
        self._send_status(final=True, deadline=deadline)
        if not flushed:
            log.warning("could not deliver the last %d transitions before exiting", self.buffer.count)
        wall = self.elapsed
        log.info("worker %d stopping (%s): %d steps, %d transitions sent", self.config.worker_id, reason, self.env_steps, self.transitions_sent)
        ordered = sorted(self.latencies)

        def percentile(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0

        report = {
            "worker_id": self.config.worker_id, "implementation": "python", "env_steps": self.env_steps,
            "transitions_sent": self.transitions_sent, "transitions_dropped": self.transitions_dropped,
            "messages_sent": self.messages_sent, "episodes": self.episodes, "wall_seconds": wall,
            "env_steps_per_second": self.env_steps / max(wall, 1e-9), "sigma": self.config.sigma,
            "weights_applied": self.weights_applied, "latest_weights_version": self.weights_version,
            "weights_latency_milliseconds": {"p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99),
                                             "max": ordered[-1] if ordered else 0.0},
            "weights_rejected": self.weights_rejected, "evaluations": self.evaluations, "paced_seconds": self.paced_seconds,
            "credit_stalls": self.credit.stalls,
            "stop_reason": reason, "environment": self.spec.id, "envs_per_worker": self.config.envs_per_worker,
        }
        if self.config.stats_file:
            tmp = self.config.stats_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump(report, f, indent=2, sort_keys=True)
            os.replace(tmp, self.config.stats_file)
        return report
