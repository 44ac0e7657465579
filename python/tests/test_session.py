"""The protocol session against a scripted learner, in memory on a manual clock (as the Swift WorkerCore's tests)."""

from __future__ import annotations

import numpy as np

from ddpg_gym import wire
from ddpg_gym.config import WorkerConfig
from ddpg_gym.session import Act, Session, Stopped, Wait

SPEC = wire.EnvironmentSpec("Counting-v0", np.array([0, -1]), np.array([1, 1]), np.array([-1]), np.array([1]), -1, 0, 10)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Wire:
    """A learner's end and a worker's end in memory; the learner's queue holds at most `limit` messages."""

    def __init__(self, limit: int = 1_000) -> None:
        self.limit = limit
        self.to_learner: list[bytes] = []
        self.to_worker: list[bytes] = []

    # The worker's side (the session's transport).
    def send(self, data: bytes) -> bool:
        if len(self.to_learner) >= self.limit:
            return False
        self.to_learner.append(data)
        return True

    def receive(self) -> bytes | None:
        return self.to_worker.pop(0) if self.to_worker else None

    def wait(self, seconds: float, sending: bool) -> None:
        pass

    # The learner's side.
    def publish(self, message: wire.Message) -> None:
        self.to_worker.append(wire.encode(message))

    def read(self) -> list[wire.Message]:
        messages = [wire.decode(data) for data in self.to_learner]
        self.to_learner.clear()
        return messages


def session(link: Wire, clock: Clock, **config: object) -> Session:
    defaults: dict[str, object] = {"transitions_per_message": 8}
    defaults.update(config)
    return Session(WorkerConfig(env=SPEC.id, **defaults), SPEC, link, clock=clock, session=0x7)  # type: ignore[arg-type]


def step(s: Session, clock: Clock, turns: int, dt: float = 0.0) -> int:
    """Turns the session `turns` times as an acting loop with one environment does; returns the steps taken."""
    steps = 0
    for _ in range(turns):
        next_ = s.poll()
        if isinstance(next_, Stopped):
            break
        if isinstance(next_, Act):
            t = s.env_steps % 10
            s.add(np.array([[t / 10, 0]], np.float32), np.zeros((1, 1), np.float32), np.array([-1.0]), np.array([0.99], np.float32),
                  np.array([[(t + 1) / 10, 0]], np.float32), np.array([False]), np.array([t == 9]))
            s.stepped(1)
            steps += 1
        clock.now += dt
    return steps


def rows(messages: list[wire.Message]) -> list[wire.Transitions]:
    return [m for m in messages if isinstance(m, wire.Transitions)]


def test_hello_first_and_again_first_to_a_restarted_learner_with_what_was_not_sent_as_version_0() -> None:
    link, clock = Wire(), Clock()
    s = session(link, clock)
    s.poll()
    link.publish(wire.Announce(0xA, 0))
    step(s, clock, 20)
    received = link.read()
    assert isinstance(received[0], wire.Hello) and isinstance(received[1], wire.Hello), "at start, and on greeting the learner"
    link.publish(wire.Weights(wire.Publication(3, 30, 300), 0xA, 0, [2, 4, 1], np.array([-1], np.float32), np.array([1], np.float32),
                              np.full(wire.parameter_count([2, 4, 1]), 0.01, np.float32)))
    step(s, clock, 40)
    assert any(m.weights_version == 3 for m in rows(link.read())), "acts with the weights it applied"
    link.limit = 0  # the learner stops reading: messages wait in the session
    step(s, clock, 20)
    link.limit, link.to_learner = 1_000, []  # a new learner: what the old one queued is gone with it
    link.publish(wire.Announce(0xB, 0))
    step(s, clock, 5)
    received = link.read()
    hello, first = received[0], received[1]
    assert isinstance(hello, wire.Hello) and isinstance(first, wire.Transitions)
    assert first.sequence == hello.next_sequence and first.weights_version == 0
    assert s.weights_version == 0


def test_credit_waits_while_the_learner_consumes_and_gives_up_after_a_second() -> None:
    link, clock = Wire(), Clock()
    s = session(link, clock)
    link.publish(wire.Announce(0xA, 0, credit=32))
    step(s, clock, 100, dt=0.000_1)
    assert sum(m.count for m in rows(link.read())) == 32 and s.env_steps == 32, "exactly the credit, then it waits"
    step(s, clock, 100, dt=0.009)
    assert s.env_steps == 32, "still waiting after 0.9 s"
    step(s, clock, 20, dt=0.01)
    assert s.env_steps > 32 and s.credit.stalls == 1, "after a second with nothing acknowledged it sends anyway"
    stepped = s.env_steps
    link.publish(wire.Acknowledgement(0xA, 0, 0x7, 1_000, 32))
    step(s, clock, 10)
    assert s.env_steps > stepped


def test_a_stop_sends_the_rest_and_a_final_status_claiming_exactly_what_was_sent() -> None:
    link, clock = Wire(), Clock()
    s = session(link, clock)
    link.publish(wire.Announce(0xA, 0))
    step(s, clock, 13)
    s.begin_stopping("signal")
    assert isinstance(s.poll(), Stopped)
    received = link.read()
    status = received[-1]
    assert isinstance(status, wire.WorkerStatus) and status.final
    assert status.transitions_sent == sum(m.count for m in rows(received)) == 13

    stuck, clock = Wire(limit=2), Clock()
    s = session(stuck, clock)
    stuck.publish(wire.Announce(0xB, 0))
    step(s, clock, 60, dt=0.001)
    s.begin_stopping("signal")
    while isinstance(next_ := s.poll(), Wait):
        clock.now += 0.01
    assert next_ == Stopped("signal") and clock.now < 0.06 + 3.05, "it gives up on what is queued at its deadline"
    assert s.transitions_sent < s.env_steps, "what never left is not reported as sent"


def test_a_wide_environments_rows_are_split_at_the_announced_limit() -> None:
    """HalfCheetah-v5's shapes (O = 17, A = 6): at most 1,541 rows, 262,022 bytes, a message, whatever
    --transitions-per-message says; protocol 3's formula let 1,578 rows (268,312 bytes) through."""
    wide = wire.EnvironmentSpec("Wide-v0", np.full(17, -np.inf), np.full(17, np.inf), np.full(6, -1.0), np.full(6, 1.0), -np.inf, np.inf, 1000)
    assert wire.max_transitions_per_message(17, 6) == 1541
    link, clock = Wire(), Clock()
    s = Session(WorkerConfig(env=wide.id, transitions_per_message=4096), wide, link, clock=clock, session=0x7)
    link.publish(wire.Announce(0xA, 0, credit=0))
    s.poll()
    zeros = np.zeros((1, 17), dtype="<f4")
    for _ in range(4000):
        s.add(zeros, np.zeros((1, 6), dtype="<f4"), np.zeros(1, dtype="<f4"), np.full(1, 0.99, dtype="<f4"), zeros,
              np.zeros(1, dtype=bool), np.zeros(1, dtype=bool))
        s.stepped(1)
        s.poll()
    s.begin_stopping("signal")
    s.poll()
    sizes = [len(data) for data in link.to_learner if wire.decode(data).__class__ is wire.Transitions]
    rows = [m.count for m in (wire.decode(data) for data in link.to_learner) if isinstance(m, wire.Transitions)]
    assert sum(rows) == 4000 and max(rows) == 1541 and max(sizes) == 262_022 <= wire.MAX_WORKER_MESSAGE_BYTES


def test_a_gradient_takes_the_next_sequence_keeps_its_version_and_is_dropped_for_a_new_learner() -> None:
    link, clock = Wire(), Clock()
    s = session(link, clock, rollout_steps=5, gradients=True)
    s.poll()
    link.publish(wire.Announce(0xA, 0))
    s.poll()
    link.read()

    def gradient(version: int) -> wire.Gradient:
        return wire.Gradient(0, 0, 0, version, 5, np.full(3, 0.5, np.float32), np.full(2, -0.25, np.float32), entropy=0.7)

    s.queue_gradient(gradient(3))
    s.queue_gradient(gradient(4))
    s.send_queued()
    sent = [m for m in link.read() if isinstance(m, wire.Gradient)]
    assert [(g.sequence, g.weights_version, g.session) for g in sent] == [(0, 3, 0x7), (1, 4, 0x7)]
    assert sent[0].policy.tolist() == [0.5] * 3 and sent[0].entropy == np.float32(0.7)
    link.limit = 0  # the learner stops reading: the next gradient waits in the session
    s.queue_gradient(gradient(5))
    s.send_queued()
    link.limit = 1_000
    link.publish(wire.Announce(0xB, 0))  # a new learner: a gradient of the old one's weights means nothing to it
    s.poll()
    received = link.read()
    assert isinstance(received[0], wire.Hello) and not any(isinstance(m, wire.Gradient) for m in received)
    assert received[0].next_sequence == 3, "the dropped gradient's sequence is not waited for"
