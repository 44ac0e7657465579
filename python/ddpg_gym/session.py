"""A worker's side of the protocol (docs/PROTOCOL.md), without sockets or a clock of its own: the Swift
worker's `WorkerCore`, line for line in spirit.

The session greets every learner it hears (again after a learner restarts), keeps the learner's credit,
batches rows into messages, and stops within a bounded wait. It never blocks: messages wait in an outbox
until the transport takes them, in order, and `poll()` says what the worker may do meanwhile. While the
outbox is not empty the worker does not act: the learner's full queues are how it learns to slow down,
and nothing is dropped. Messages wait as what they say and are encoded as they go, so a status claims
exactly what was sent before it, and a hello to a restarted learner goes before anything queued.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol

import numpy as np

from . import wire
from .actor import NumpyActor, ShapeError
from .config import WorkerConfig
from .credit import STALL_SECONDS, CreditWindow
from .transitions import TransitionBuffer

log = logging.getLogger("ddpg.gym_worker")


class Transport(Protocol):
    """A worker's two connections to the learner."""

    def send(self, data: bytes) -> bool:
        """Hands `data` over without waiting; False while the learner cannot take it (try again later)."""

    def receive(self) -> bytes | None:
        """The next message the learner published, without waiting."""

    def wait(self, seconds: float, sending: bool) -> None:
        """Waits at most `seconds` for a publication, or (when `sending`) for room to send."""


class Act(NamedTuple):
    """Step the environments (an actor) or evaluate (an evaluator)."""


class Wait(NamedTuple):
    """Wait for a publication, or room to send, at most `seconds`."""

    seconds: float
    sending: bool


class Stopped(NamedTuple):
    reason: str


Next = Act | Wait | Stopped


@dataclass
class _Hello:
    pass


@dataclass
class _Rows:
    rows: tuple[np.ndarray, ...]
    sequence: int
    weights_version: int
    receipt: int = 0  # the acknowledgement read last when these rows were committed to: the learner counts credit from it


@dataclass
class _Status:
    final: bool


Outgoing = _Hello | _Rows | wire.Segment | wire.Gradient | wire.EpisodeReport | _Status | wire.EvaluationReport


def _data_sequence(message: Outgoing) -> int | None:
    return message.sequence if isinstance(message, (_Rows, wire.Segment, wire.Gradient)) else None


def _data_rows(message: Outgoing) -> int:
    if isinstance(message, _Rows):
        return len(message.rows[2])
    return message.rows if isinstance(message, (wire.Segment, wire.Gradient)) else 0


class Session:
    def __init__(self, config: WorkerConfig, spec: wire.EnvironmentSpec, transport: Transport,
                 clock: Callable[[], float] = time.monotonic, session: int | None = None,
                 stop: Callable[[], bool] = lambda: False, wall_clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.config, self.spec, self.transport, self.clock, self.stop = config, spec, transport, clock, stop
        # Only for the weights' latency: their publication time is the learner's wall clock.
        self.wall_clock_ns = wall_clock_ns
        self.session = session if session is not None else random.SystemRandom().randint(1, 2**32 - 1)
        self.start = clock()
        self.rows_per_message = min(config.transitions_per_message, wire.max_transitions_per_message(spec.observation_size, spec.action_size))
        # An episode's end flushes up to n rows of its environment at once.
        self.buffer = TransitionBuffer(self.rows_per_message + config.envs_per_worker * config.n_step, spec.observation_size, spec.action_size)
        # The bounds the learner checks observations against: the spec's, capped at ±1e6.
        self.observation_low = np.maximum(spec.observation_low, np.float32(-1e6))
        self.observation_high = np.minimum(spec.observation_high, np.float32(1e6))

        self.actor: NumpyActor | None = None
        # The weights the actor was built from: A3C's carry the value network its gradients need.
        self.applied_weights: wire.Weights | None = None
        self.weights_version = 0
        self.applied_publication: wire.Publication | None = None
        self.applied_request: wire.EvaluationRequest | None = None
        self.evaluated_request: tuple[int, int, bool] | None = None
        self.latest_learner: int | None = None
        self.latest_credit: int | None = None
        self.greeted_learner: int | None = None
        # Until the greeted learner acknowledges this session, its announced credit applies.
        self.acknowledged = False
        # The receipt of the newest acknowledgement read: every transitions message names it, and the learner
        # counts this session's credit from there.
        self.receipt = 0
        # The nonces of the requests this evaluator has tickets for, by (mark, final): the newest 64.
        self.tickets: dict[tuple[int, bool], int] = {}
        self.ticket_wait_since: float | None = None
        self.ticket_warned = False
        self.pending: wire.Weights | None = None
        self.received_shutdown = False
        # Until a learner has announced its credit, one message.
        self.credit = CreditWindow(config.transitions_per_message, self.elapsed)
        self.waiting_for_credit_since: float | None = None
        self.outbox: list[Outgoing] = []
        self.stopping: tuple[str, float] | None = None
        self.sequence = 0

        self.env_steps = self.transitions_sent = self.messages_sent = 0
        self.episodes = self.weights_applied = self.weights_rejected = self.evaluations = 0
        self.transitions_dropped = 0
        self.paced_seconds = 0.0
        self.latencies: list[float] = []
        self.last_status = self.elapsed
        self.last_log = (self.elapsed, 0)
        self.stalled_since: float | None = None
        self.next_send_warning = 0.0
        self.outbox.append(_Hello())

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    # -- what to do next -----------------------------------------------------------------------------

    def poll(self) -> Next:
        """Reads what the learner sent, greets a new learner, applies the newest weights when no batch is
        half collected, sends what is queued, and says whether the worker may act."""
        if self.stopping is None and self.stop():
            self.begin_stopping("signal")
        if self.stopping is not None:
            return self._stopping_poll(*self.stopping)
        self._receive()
        self._greet_new_learner()
        if self.pending is not None:
            # The rows of one message share one weights version: queue the old ones first.
            self._flush_buffer()
            self._apply_pending()
        if not self.config.evaluator and self.applied_request is not None and self.applied_request.final:
            # The learner asks for its final evaluation only once it has stopped: what an actor sent
            # from here on would be counted apart and never trained on. (Checked before a shutdown read in
            # the same poll: the request came first, and says why.)
            self.begin_stopping("learner_stopping")
            return self.poll()
        if self.received_shutdown:
            self.begin_stopping("learner_shutdown")
            return self.poll()
        self.send_queued()
        if self.outbox:
            return Wait(0.05, True)
        if self.credit.is_exhausted(self.buffer.count):
            since = self.waiting_for_credit_since if self.waiting_for_credit_since is not None else self.elapsed
            self.waiting_for_credit_since = since
            self._flush_buffer()
            self.send_queued()
            if self.outbox:
                return Wait(0.05, True)
            if self.credit.is_exhausted():
                if not self.credit.is_stalled(self.elapsed, since):
                    return Wait(0.002, False)
                log.debug("the learner consumed nothing of this worker's for %.1f s (credit %d, %d transitions unacknowledged, "
                          "acknowledged up to %d); sending anyway", STALL_SECONDS, self.credit.credit,
                          self.credit.unacknowledged_transitions, self.credit.acknowledged_sequence)
                self.credit.give_up(self.elapsed)
        self._stop_waiting_for_credit()
        return Act()

    def _stopping_poll(self, reason: str, deadline: float) -> Next:
        self._receive()
        self.send_queued()
        if not self.outbox:
            return Stopped(reason)
        if self.elapsed >= deadline:
            rows = sum(_data_rows(m) for m in self.outbox)
            if rows:
                log.warning("could not deliver the last %d transitions before exiting", rows)
            return Stopped(reason)
        return Wait(min(0.05, deadline - self.elapsed), True)

    def begin_stopping(self, reason: str) -> None:
        """Stops acting: what is buffered and a final status go out, within a bounded wait."""
        if self.stopping is not None:
            return
        self._stop_waiting_for_credit()
        self._flush_buffer()
        self._queue_status(final=True)
        self.stopping = (reason, self.elapsed + 3)

    def _stop_waiting_for_credit(self) -> None:
        if self.waiting_for_credit_since is not None:
            self.paced_seconds += self.elapsed - self.waiting_for_credit_since
            self.waiting_for_credit_since = None

    # -- from the acting loop ------------------------------------------------------------------------

    def add(self, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, discounts: np.ndarray,
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

    def queue_segment(self, segment: wire.Segment) -> None:
        """An on-policy segment, as the session's next data message; its version and receipt are the session's now."""
        self.outbox.append(replace(segment, sequence=self.sequence, weights_version=self.weights_version, receipt=self.receipt))
        self.credit.sent(self.sequence, segment.rows)
        self.sequence += 1

    def queue_gradient(self, gradient: wire.Gradient) -> None:
        """An A3C gradient, as the session's next data message; it keeps the version it was computed at."""
        self.outbox.append(replace(gradient, sequence=self.sequence, receipt=self.receipt))
        self.credit.sent(self.sequence, gradient.rows)
        self.sequence += 1

    def episode_ended(self, length: int, episode_return: float) -> None:
        self.episodes += 1
        self.outbox.append(wire.EpisodeReport(self.config.worker_id, self.session, length, episode_return, self.weights_version))

    def stepped(self, count: int) -> None:
        """`count` env steps were taken: sends a full (or old enough) batch and a status when due, and stops at max_env_steps."""
        c = self.config
        self.env_steps += count
        if self.buffer.count >= self.rows_per_message or (self.buffer.count and self.elapsed - self.buffer.started_at >= c.flush_ms / 1_000):
            self._flush_buffer()
        self.status_if_due()
        if c.max_env_steps and self.env_steps >= c.max_env_steps:
            self.begin_stopping("max_env_steps")
        if self.elapsed - self.last_log[0] >= 10:
            self._log_progress()

    def status_if_due(self) -> None:
        """Queues a status if one is due: the learner counts a silent worker as gone."""
        if self.elapsed - self.last_status >= self.config.status_seconds:
            self._queue_status(final=False)

    def take_evaluation_request(self) -> tuple[wire.EvaluationRequest, wire.Publication, NumpyActor] | None:
        """The evaluation request of the applied weights, if not evaluated yet; taken at most once."""
        request, publication, actor = self.applied_request, self.applied_publication, self.actor
        if actor is None or request is None or publication is None or self.greeted_learner is None:
            return None
        if self.evaluated_request == (self.greeted_learner, request.mark, request.final):
            return None
        if (request.mark, request.final) not in self.tickets:
            # Its ticket comes on this session's own connection, which may lag the weights: wait for it.
            self._warn_without_ticket(request)
            return None
        self.ticket_wait_since = None
        self.evaluated_request = (self.greeted_learner, request.mark, request.final)
        return request, publication, actor

    def _warn_without_ticket(self, request: wire.EvaluationRequest) -> None:
        if self.ticket_wait_since is None:
            self.ticket_wait_since = self.elapsed
        elif self.elapsed - self.ticket_wait_since >= 5 and not self.ticket_warned:
            self.ticket_warned = True
            log.warning("no ticket from the learner for its request at mark %d after 5 s: is --evaluator-token (or the evaluator's key) "
                        "the learner's? It counts no evaluation without one", request.mark)

    def evaluated(self, request: wire.EvaluationRequest, publication: wire.Publication, returns: list[float], lengths: list[int]) -> None:
        """Reports an evaluation with the nonce of its request's ticket: the learner counts none without it."""
        nonce = self.tickets.get((request.mark, request.final))
        if nonce is None:
            log.warning("no ticket from the learner for the request at mark %d: it will not count this evaluation", request.mark)
        self.outbox.append(wire.EvaluationReport(self.config.worker_id, self.session, request.final, publication, returns, lengths,
                                                 nonce or 0))
        self.evaluations += 1
        self.env_steps += sum(lengths)

    # -- the learner's messages ----------------------------------------------------------------------

    def _receive(self) -> None:
        """Reads everything queued, keeping only the newest weights."""
        while (data := self.transport.receive()) is not None:
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
                if message.learner_id == self.greeted_learner and not self.acknowledged:
                    self.credit.announced(message.credit, None, self.elapsed)
            elif isinstance(message, wire.Acknowledgement):
                self._take(message)
            elif isinstance(message, wire.Shutdown):
                self.received_shutdown = True
            else:
                self._reject("unexpected_kind", f"a {type(message).__name__} message on the weights socket")

    def _reject(self, reason: str, error: object) -> None:
        self.weights_rejected += 1
        if self.weights_rejected <= 10 or self.weights_rejected % 1_000 == 0:
            log.warning("rejected a message on the weights socket (%s): %s; %d so far", reason, error, self.weights_rejected)

    def _greet_new_learner(self) -> None:
        """Says hello first to a learner not greeted yet (at the first announcement, and after a restart);
        what it had not sent was not acted with this learner's weights, so it goes as version 0."""
        if self.latest_learner is None or self.latest_learner == self.greeted_learner:
            return
        if self.greeted_learner is not None:
            log.info("a new learner (id %x) is publishing: the learner restarted; saying hello again", self.latest_learner)
        first = self.greeted_learner is None
        self.greeted_learner = self.latest_learner
        self.acknowledged = False
        self.receipt = 0
        self.tickets.clear()
        self.weights_version = 0
        self.applied_request = self.applied_publication = None
        self.credit.greeted(self.latest_credit if self.latest_credit is not None else self.config.transitions_per_message, self.elapsed,
                            keep_in_flight=first)
        queued: list[Outgoing] = []
        for message in self.outbox:
            if isinstance(message, wire.Gradient):
                # Computed at another learner's weights: nothing the new one could apply.
                continue
            if isinstance(message, (_Rows, wire.Segment)):
                # Acted without this learner's weights: an on-policy learner counts such a segment late.
                queued.append(replace(message, weights_version=0, receipt=0))
                if not first:
                    self.credit.sent(message.sequence, _data_rows(message))
            elif isinstance(message, wire.EpisodeReport):
                queued.append(replace(message, weights_version=0))
            elif isinstance(message, _Status):
                queued.append(message)
        self.outbox = [_Hello(), *queued]

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
        self.applied_weights = weights
        self.weights_applied += 1
        self.weights_version = weights.publication.version
        self.applied_publication = weights.publication
        self.applied_request = weights.evaluation_request
        if len(self.latencies) < 100_000:
            self.latencies.append((self.wall_clock_ns() - weights.published_at_ns) / 1e6)

    def _take(self, acknowledgement: wire.Acknowledgement) -> None:
        """The greeted learner's acknowledgement of this session: its credit, what it consumed, and a request's ticket."""
        if (acknowledgement.learner_id != self.greeted_learner or acknowledgement.session != self.session
                or acknowledgement.worker_id != self.config.worker_id):
            return
        self.acknowledged = True
        self.receipt = acknowledgement.receipt
        self.credit.announced(acknowledgement.credit, acknowledgement.next_sequence, self.elapsed)
        if acknowledgement.ticket is not None:
            if len(self.tickets) >= 64:
                del self.tickets[min(self.tickets)]
            self.tickets[(acknowledgement.ticket.mark, acknowledgement.ticket.final)] = acknowledgement.ticket.nonce

    # -- sending -------------------------------------------------------------------------------------

    def _queue_status(self, final: bool) -> None:
        self.last_status = self.elapsed
        self.outbox.append(_Status(final))

    def _flush_buffer(self) -> None:
        """Moves the buffered rows into the outbox, in messages of at most rows_per_message: they keep the
        weights version they were acted with, whatever is applied while they wait."""
        start = 0
        while start < self.buffer.count:
            end = min(self.buffer.count, start + self.rows_per_message)
            rows = tuple(column.copy() for column in self.buffer.rows(start, end))
            self.outbox.append(_Rows(rows, self.sequence, self.weights_version, self.receipt))
            self.credit.sent(self.sequence, end - start)
            self.sequence += 1
            start = end
        self.buffer.count = 0

    def send_queued(self) -> None:
        """Hands queued messages to the transport, in order, until it refuses one."""
        while self.outbox:
            message = self.outbox[0]
            if not self.transport.send(self._encode(message)):
                self._warn_if_stalled()
                return
            self.outbox.pop(0)
            self.messages_sent += 1
            self.transitions_sent += _data_rows(message)
        self.stalled_since = None

    def _encode(self, message: Outgoing) -> bytes:
        c = self.config
        if isinstance(message, _Hello):
            # What the learner must expect next: the oldest rows still queued, else the next to be made.
            oldest = next((sequence for m in self.outbox if (sequence := _data_sequence(m)) is not None), self.sequence)
            return wire.encode(wire.Hello(c.worker_id, self.session, c.envs_per_worker, c.seed, self.spec,
                                          "evaluator" if c.evaluator else "actor", oldest,
                                          c.evaluator_token if c.evaluator else wire.NO_TOKEN))
        if isinstance(message, _Rows):
            o, a, r, d, n, te, tr = message.rows
            return wire.encode(wire.Transitions(c.worker_id, self.session, message.sequence, message.weights_version, o, a, r, d, n, te, tr,
                                                message.receipt))
        if isinstance(message, (wire.Segment, wire.Gradient)):
            return wire.encode(replace(message, worker_id=c.worker_id, session=self.session))
        if isinstance(message, _Status):
            # It goes after everything queued before it, and counts itself among the messages sent.
            return wire.encode(wire.WorkerStatus(c.worker_id, self.session, message.final, self.transitions_sent, self.episodes,
                                                 self.messages_sent + 1))
        return wire.encode(message)

    def _warn_if_stalled(self) -> None:
        if self.stalled_since is None:
            self.stalled_since = self.elapsed
            self.next_send_warning = self.elapsed + self.config.send_timeout
            return
        if self.elapsed < self.next_send_warning:
            return
        hint = (" (is --learner-public-key the learner's, and is this worker's public key in its --authorized-keys?)"
                if self.config.curve_secret_key else "")
        log.warning("no learner has accepted data for %d s at %s; still trying%s", self.elapsed - self.stalled_since,
                    self.config.endpoint(self.config.transitions_port), hint)
        self.next_send_warning = self.elapsed + 30

    def _log_progress(self) -> None:
        now = self.elapsed
        rate = (self.env_steps - self.last_log[1]) / max(now - self.last_log[0], 1e-9)
        log.info("worker %d: %d steps | %d steps/s | %d sent | %d episodes | weights v%d", self.config.worker_id, self.env_steps,
                 rate, self.transitions_sent, self.episodes, self.weights_version)
        self.last_log = (now, self.env_steps)

    def report(self, reason: str) -> dict[str, object]:
        """What this worker did, for its stats file."""
        wall = self.elapsed
        log.info("worker %d stopping (%s): %d steps, %d transitions sent", self.config.worker_id, reason, self.env_steps, self.transitions_sent)
        ordered = sorted(self.latencies)

        def percentile(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0

        return {
            "worker_id": self.config.worker_id, "implementation": "python", "env_steps": self.env_steps,
            "transitions_sent": self.transitions_sent, "transitions_dropped": self.transitions_dropped,
            "messages_sent": self.messages_sent, "episodes": self.episodes, "wall_seconds": wall,
            "env_steps_per_second": self.env_steps / max(wall, 1e-9), "sigma": self.config.sigma,
            "weights_applied": self.weights_applied, "latest_weights_version": self.weights_version,
            "weights_latency_milliseconds": {"p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99),
                                             "max": ordered[-1] if ordered else 0.0},
            "weights_rejected": self.weights_rejected, "evaluations": self.evaluations, "paced_seconds": self.paced_seconds,
            "credit_stalls": self.credit.stalls, "stop_reason": reason, "environment": self.spec.id,
            "envs_per_worker": self.config.envs_per_worker,
        }
