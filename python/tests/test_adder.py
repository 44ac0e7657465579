"""The Python worker's n-step adder against hand-computed sequences (the same as the Swift adder's tests)."""

from __future__ import annotations

import numpy as np
import pytest

from ddpg_gym.adder import NStepAdder

Row = tuple[float, float, float, float, bool, bool]


def play(adder: NStepAdder, start: float, rewards: list[float], terminated: bool, truncated: bool) -> list[list[Row]]:
    """Observation t is start + t, the action its negative; the last step ends the episode as given."""
    emitted = []
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        rows = adder.add(np.array([start + t], np.float32), np.array([-(start + t)], np.float32), reward,
                         np.array([start + t + 1], np.float32), last and terminated, last and truncated)
        for row in rows:
            assert row.action[0] == -row.observation[0]
        emitted.append([(float(r.observation[0]), r.reward, float(r.next_observation[0]), r.discount, r.terminated, r.truncated)
                        for r in rows])
    return emitted


def test_three_step_returns_across_termination_and_truncation() -> None:
    adder = NStepAdder(3, 0.5)
    first = play(adder, 0, [1, 2, 4, 8, 16], terminated=True, truncated=False)
    assert first[0] == [] and first[1] == []
    assert first[2] == [(0, 1 + 0.5 * 2 + 0.25 * 4, 3, 0.125, False, False)]
    assert first[3] == [(1, 2 + 0.5 * 4 + 0.25 * 8, 4, 0.125, False, False)]
    # The termination cuts every pending return: discount 0.
    assert first[4] == [(2, 4 + 0.5 * 8 + 0.25 * 16, 5, 0.0, True, False), (3, 8 + 0.5 * 16, 5, 0.0, True, False),
                        (4, 16, 5, 0.0, True, False)]
    # A two-step episode cut by the time limit: both bootstrap from the last observation with γ^k.
    second = play(adder, 10, [1, 2], terminated=False, truncated=True)
    assert second[0] == []
    assert second[1] == [(10, 1 + 0.5 * 2, 12, 0.25, False, True), (11, 2, 12, 0.5, False, True)]


def test_one_step_is_the_one_step_transition() -> None:
    adder = NStepAdder(1, 0.99)
    rows = [row for step in play(adder, 0, [-1, -2, -3], terminated=True, truncated=False) for row in step]
    assert [r[3] for r in rows] == [float(np.float32(0.99)), float(np.float32(0.99)), 0.0]
    assert [r[1] for r in rows] == [-1, -2, -3]


def test_discounts_match_what_the_learner_accepts() -> None:
    """γ^k as float32 from repeated products of float32(γ), as the Swift learner computes its accepted set."""
    adder = NStepAdder(3, 0.99)
    g = float(np.float32(0.99))
    expected = [np.float32(g), np.float32(g * g), np.float32(g * g * g)]
    rows = [row for step in play(adder, 0, [0, 0, 0], terminated=False, truncated=True) for row in step]
    assert sorted(np.float32(r[3]) for r in rows) == sorted(expected)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="n must be at least 1"):
        NStepAdder(0, 0.99)
    with pytest.raises(ValueError, match="gamma"):
        NStepAdder(3, 1.5)
