"""The worker's flow control on its own (the Swift worker's CreditWindowTests check the same)."""

from __future__ import annotations

from ddpg_gym.credit import CreditWindow


def test_waits_once_in_flight_reaches_the_credit_and_an_acknowledgement_frees_it() -> None:
    window = CreditWindow(10)
    assert not window.is_exhausted(9) and window.is_exhausted(10)
    window.sent(0, 6)
    window.sent(1, 6)
    assert window.unacknowledged_transitions == 12 and window.is_exhausted()
    window.announced(10, 1, now=0.5)  # message 0 consumed, message 1 not
    assert window.unacknowledged_transitions == 6 and not window.is_exhausted() and window.is_exhausted(4)


def test_acknowledgements_are_cumulative_and_never_go_back() -> None:
    window = CreditWindow(4)
    for sequence in range(3):
        window.sent(sequence, 2)
    window.announced(4, 3, now=1.0)  # covers message 1 even if it was lost
    assert window.unacknowledged_transitions == 0 and window.acknowledged_sequence == 3
    window.sent(3, 2)
    window.announced(4, 2, now=2.0)
    assert window.unacknowledged_transitions == 2 and window.acknowledged_sequence == 3
    window.announced(4, None, now=3.0)  # an announcement that does not list this session
    assert window.unacknowledged_transitions == 2


def test_a_slow_learner_keeps_the_worker_waiting_and_a_silent_one_does_not() -> None:
    window = CreditWindow(4, now=0.0)
    for sequence in range(4):
        window.sent(sequence, 2)
    waiting_since = now = 10.0
    for sequence in range(1, 4):  # one message consumed every 0.3 s: slow, but never a stall
        now += 0.3
        assert not window.is_stalled(now, waiting_since)
        window.announced(4, sequence, now)
    window.sent(4, 2)
    window.sent(5, 2)
    assert window.is_exhausted()
    assert not window.is_stalled(20.9, 20.0)  # time spent acting before the wait does not count
    assert window.is_stalled(21.0, 20.0)
    window.give_up(21.0)
    assert not window.is_exhausted() and window.unacknowledged_transitions == 0


def test_credit_zero_means_no_limit() -> None:
    window = CreditWindow(0)
    window.sent(0, 1_000)
    assert not window.is_exhausted(1_000_000) and window.unacknowledged_transitions == 0


def test_a_new_learner_takes_its_own_credit_and_drops_the_old_ones_backlog() -> None:
    window = CreditWindow(8)
    window.sent(0, 8)
    assert window.is_exhausted()
    window.greeted(32, now=5.0)
    assert window.credit == 32 and window.unacknowledged_transitions == 0
    assert not window.is_stalled(5.5, 0.0)
