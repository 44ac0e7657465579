"""The learner's flow control as a worker keeps it (docs/PROTOCOL.md, announce): the credit the greeted
learner announced, the transitions messages sent and not yet acknowledged, and when the learner last
consumed any of them.

A worker whose unacknowledged transitions reach the credit waits, for as long as the learner keeps
consuming its data, however slowly: a worker that sent more on a fixed timeout would fill the queues
with data acted by an aging policy whenever the learner trains slowly. Only when the learner has
consumed nothing of this worker's for STALL_SECONDS does the worker send anyway: a message lost with a
dropped connection, or one the learner rejected, is never acknowledged itself, and only a newer
message's acknowledgement covers it. The Swift worker's `CreditWindow` is the same."""

from __future__ import annotations

STALL_SECONDS = 1.0


class CreditWindow:
    def __init__(self, initial_credit: int, now: float = 0.0) -> None:
        #: Transitions this worker may have sent and not yet seen acknowledged (0: no limit).
        self.credit = initial_credit
        #: The sequence number of the transitions message the learner expects next from this session.
        self.acknowledged_sequence = 0
        #: Times the worker stopped waiting because the learner had consumed nothing of its for STALL_SECONDS.
        self.stalls = 0
        self._unacknowledged: list[tuple[int, int]] = []
        self._last_progress_at = now

    @property
    def unacknowledged_transitions(self) -> int:
        return sum(n for _, n in self._unacknowledged)

    def is_exhausted(self, buffered: int = 0) -> bool:
        """Whether `buffered` more transitions would reach the credit."""
        return self.credit > 0 and self.unacknowledged_transitions + buffered >= self.credit

    def sent(self, sequence: int, count: int) -> None:
        """Records a transitions message sent (kept only while the learner paces)."""
        if self.credit > 0:
            self._unacknowledged.append((sequence, count))

    def announced(self, credit: int, next_sequence: int | None, now: float) -> None:
        """Takes an announcement of the greeted learner: its credit, and this session's next sequence if listed."""
        self.credit = credit
        if next_sequence is None or next_sequence <= self.acknowledged_sequence:
            return
        self.acknowledged_sequence = next_sequence
        self._last_progress_at = now
        self._unacknowledged = [(s, n) for s, n in self._unacknowledged if s >= next_sequence]

    def greeted(self, credit: int, now: float, keep_in_flight: bool = False) -> None:
        """A new learner: nothing the previous one had not consumed holds this worker back (keep_in_flight: the
        first learner, which has what was sent before its announcement, and will acknowledge it)."""
        self.credit = credit
        if not keep_in_flight:
            self._unacknowledged.clear()
        self._last_progress_at = now

    def is_stalled(self, now: float, waiting_since: float) -> bool:
        """Whether the learner has consumed nothing of this worker's for STALL_SECONDS, counting from
        `waiting_since` at the earliest (time spent acting, not waiting, does not count)."""
        return now - max(waiting_since, self._last_progress_at) >= STALL_SECONDS

    def give_up(self, now: float) -> None:
        """Stops waiting for what is unacknowledged; the next message's acknowledgement will cover it."""
        self._unacknowledged.clear()
        self._last_progress_at = now
        self.stalls += 1
