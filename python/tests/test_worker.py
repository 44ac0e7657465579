"""The worker's parts on their own: the numpy actor, noise, spec, buffer, evaluation and flags."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from ddpg_gym import wire
from ddpg_gym.actor import NumpyActor, ShapeError
from ddpg_gym.adder import NStepAdder
from ddpg_gym.cli import config_from, parser, read_key, worker_id
from ddpg_gym.noise import Noise, effective_sigma
from ddpg_gym.spec import EnvironmentError_, _f32_outward, spec_of, wire_id
from ddpg_gym.worker import GymWorker, TransitionBuffer, WorkerConfig, play


def pendulum_spec() -> wire.EnvironmentSpec:
    env = gym.make("Pendulum-v1")
    try:
        return spec_of(env, "Pendulum-v1")
    finally:
        env.close()


def weights(sizes: list[int], parameters: np.ndarray, low: float = -2.0, high: float = 2.0) -> wire.Weights:
    a = sizes[-1]
    return wire.Weights(wire.Publication(3, 100, 1_000), 7, 0, sizes, np.full(a, low, np.float32), np.full(a, high, np.float32),
                        parameters.astype(np.float32))


def test_actor_matches_the_layout_of_the_protocol() -> None:
    # 3 → 2 → 1: W1 (3×2 row-major), b1, W2 (2×1), b2.
    w1 = np.array([[1, -1], [0.5, 0], [0, 2]], np.float32)
    b1 = np.array([0.1, -0.2], np.float32)
    w2 = np.array([[0.3], [-0.4]], np.float32)
    b2 = np.array([0.05], np.float32)
    actor = NumpyActor(weights([3, 2, 1], np.concatenate([w1.ravel(), b1, w2.ravel(), b2])), pendulum_spec())
    x = np.array([[0.2, -0.7, 0.9], [-1, 1, -8]], np.float32)
    expected = 2 * np.tanh(np.maximum(x @ w1 + b1, 0) @ w2 + b2)
    np.testing.assert_allclose(actor(x), expected, rtol=1e-6)
    assert actor(x).dtype == np.float32 and actor(x).shape == (2, 1)


def test_actor_maps_tanh_onto_asymmetric_bounds() -> None:
    spec = pendulum_spec()
    spec.action_low, spec.action_high = np.array([0.0], np.float32), np.array([4.0], np.float32)
    big = np.zeros(wire.parameter_count([3, 1]), np.float32)
    big[-1] = 50  # the bias: tanh saturates at +1
    actor = NumpyActor(weights([3, 1], big, 0.0, 4.0), spec)
    assert actor(np.zeros((1, 3), np.float32))[0, 0] == pytest.approx(4.0)
    big[-1] = -50
    assert NumpyActor(weights([3, 1], big, 0.0, 4.0), spec)(np.zeros((1, 3), np.float32))[0, 0] == pytest.approx(0.0)


def test_actor_refuses_weights_of_another_environment() -> None:
    with pytest.raises(ShapeError, match="observation 3 and action 1"):
        NumpyActor(weights([4, 8, 1], np.zeros(wire.parameter_count([4, 8, 1]))), pendulum_spec())
    with pytest.raises(ShapeError, match="actions in"):
        NumpyActor(weights([3, 1], np.zeros(4), -1.0, 1.0), pendulum_spec())


def test_noise_spread_matches_the_swift_worker() -> None:
    assert effective_sigma(0.2, 0, 1) == 0.2
    assert [effective_sigma(0.2, i, 3) for i in range(3)] == pytest.approx([0.2, 0.2 ** 1.5, 0.04])
    assert effective_sigma(0.2, 4, 3) == pytest.approx(0.2 ** 1.5), "ids past the count wrap around"
    assert effective_sigma(0.2, 5, 3, sigmas=(0.3, 0.1)) == 0.1


def test_ou_noise_reverts_and_resets_per_environment() -> None:
    noise = Noise("ou", 0.5, 2, 3, np.random.default_rng(1))
    for _ in range(100):
        noise.sample()
    assert (noise.state != 0).all()
    noise.reset(1)
    assert (noise.state[1] == 0).all() and (noise.state[0] != 0).all()
    gaussian = Noise("gaussian", 0.3, 1000, 1, np.random.default_rng(2)).sample()
    assert 0.27 < gaussian.std() < 0.33
    with pytest.raises(ValueError, match="unknown noise"):
        Noise("pink", 0.1, 1, 1, np.random.default_rng(0))


def test_spec_of_pendulum_is_the_native_one_but_for_the_reward_range() -> None:
    spec = pendulum_spec()
    assert spec.id == "Pendulum-v1" and spec.max_episode_steps == 200
    np.testing.assert_array_equal(spec.observation_high, np.array([1, 1, 8], np.float32))
    np.testing.assert_array_equal(spec.action_low, np.array([-2], np.float32))
    assert spec.reward_low == -math.inf and spec.reward_high == math.inf, "gymnasium 1.x declares no reward range"


def test_spec_of_takes_a_discrete_space_as_the_native_spec_and_refuses_others_by_name() -> None:
    env = gym.make("CartPole-v1")
    spec = spec_of(env, "CartPole-v1")
    env.close()
    # gymnasium writes the velocities' "no bound" as float32's largest value; the protocol (and Swift's CartPole) as infinity.
    assert spec.discrete_actions == 2 and list(spec.action_low) == [0] and list(spec.action_high) == [1]
    assert list(spec.observation_high) == [np.float32(4.8), np.inf, np.float32(0.41887903), np.inf]
    env = gym.make("CartPole-v1")
    env.action_space = gym.spaces.MultiDiscrete([2, 3])
    with pytest.raises(EnvironmentError_, match=r"CartPole-v1: its action space is MultiDiscrete\(\[2 3\]\), neither a Box nor a Discrete"):
        spec_of(env, "CartPole-v1")
    env.close()


def test_float64_bounds_round_outward() -> None:
    values = np.array([0.1, -0.1, np.inf, -np.inf])
    low, high = _f32_outward(values, down=True), _f32_outward(values, down=False)
    assert (low.astype(np.float64) <= values).all() and (high.astype(np.float64) >= values).all()
    assert wire_id("gym_envs:PendulumPy-v1") == "PendulumPy-v1"


def test_buffer_gives_rows_in_order() -> None:
    buffer = TransitionBuffer(8, 2, 1)
    for i in range(5):
        buffer.extend(np.full((1, 2), i), np.full((1, 1), i), np.array([i]), np.array([0.5 + i / 10]), np.full((1, 2), i + 1),
                      np.array([False]), np.array([i == 4]))
    _, _, rewards, discounts, _, _, truncated = buffer.rows(3, 5)
    assert buffer.count == 5
    assert rewards.tolist() == [3, 4] and truncated.tolist() == [False, True]
    assert discounts.tolist() == pytest.approx([0.8, 0.9])


def test_n_step_rows_come_through_each_environments_adder() -> None:
    """Two environments, 2-step returns: rows appear once an environment has two steps, or when its episode ends."""
    worker = GymWorker(WorkerConfig(transitions_port=1, weights_port=2, envs_per_worker=2, n_step=2, gamma=0.5))
    adders = [NStepAdder(2, 0.5) for _ in range(2)]
    buffer = worker.session.buffer
    try:
        def step(t: int, truncated: list[bool]) -> None:
            o = np.array([[1, 0, t], [0, 1, t]], np.float32)
            worker._add(adders, o, np.zeros((2, 1), np.float32), np.array([-1.0, -2.0]), o / 2, np.zeros(2, bool), np.array(truncated))
        step(0, [False, True])   # environment 1's one-step episode ends: one row, discount γ
        assert buffer.count == 1 and buffer.discounts[0] == pytest.approx(0.5) and buffer.rewards[0] == -2
        step(1, [False, False])  # environment 0 has two steps: R = −1 − 0.5, discount γ²
        assert buffer.count == 2 and buffer.rewards[1] == pytest.approx(-1.5) and buffer.discounts[1] == 0.25
        assert buffer.observations[1, 2] == 0 and buffer.next_observations[1, 2] == 0.5
    finally:
        worker.close()


def test_evaluation_episodes_do_not_depend_on_chunking() -> None:
    actor = NumpyActor(weights([3, 1], np.array([0.3, -0.2, 0.1, 0.0], np.float32)), pendulum_spec())
    envs = [gym.make("Pendulum-v1") for _ in range(3)]
    together = play(actor, envs, seed=11, first=0)
    first = play(actor, envs[:2], seed=11, first=0)
    rest = play(actor, envs[:1], seed=11, first=2)
    # Equal but for float rounding: a batch of 3 and a batch of 1 take different matmul paths.
    assert together[0] == pytest.approx(first[0] + rest[0], rel=1e-6)
    assert together[0] != pytest.approx(play(actor, envs[:3], seed=12, first=0)[0], rel=1e-6), "the seed sets the starts"
    assert together[1] == [200, 200, 200]
    for env in envs:
        env.close()


def test_rows_the_learner_would_reject_are_dropped_and_counted() -> None:
    worker = GymWorker(WorkerConfig(transitions_port=1, weights_port=2))
    try:
        o = np.array([[1, 0, 0], [np.nan, 0, 0], [0, 1, 9]], np.float32)  # 9 > θ̇'s bound of 8
        worker.session.add(o, np.zeros((3, 1), np.float32), np.array([-1.0, -1.0, -1.0]), np.full(3, 0.99, np.float32),
                           np.zeros((3, 3), np.float32), np.zeros(3, bool), np.zeros(3, bool))
        assert worker.session.buffer.count == 1 and worker.session.transitions_dropped == 2
    finally:
        worker.close()


def test_flags_are_checked_and_name_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    p = parser()
    with pytest.raises(SystemExit):
        config_from(p.parse_args(["--transitions-port", "7000", "--weights-port", "7000"]), p)
    assert "--weights-port: must differ from --transitions-port (7000)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        config_from(p.parse_args(["--curve-secret-key", "k"]), p)
    assert "--curve-secret-key: needs --learner-public-key" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        p.parse_args(["--worker-id", "-3"])
    assert "neither a non-negative integer nor auto" in capsys.readouterr().err
    assert worker_id("auto") == worker_id("auto") < 2**31
    with pytest.raises(SystemExit):
        config_from(p.parse_args(["--gradients"]), p)
    assert "--gradients: needs --rollout-steps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        config_from(p.parse_args(["--rollout-steps", "5", "--gradients", "--gae-lambda", "1.5"]), p)
    assert "--gae-lambda: must be in [0, 1], got 1.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        p.parse_args(["--ent-coefs", "0,nan"])
    assert "expected comma-separated non-negative numbers" in capsys.readouterr().err
    config = config_from(p.parse_args(["--rollout-steps", "5", "--gradients", "--ent-coefs", "0,0.01,0.1", "--worker-id", "4"]), p)
    assert config.gradients and config.entropy_coefficient == 0.01, "worker 4 of a list of 3 takes entry 1"
    spread = [config_from(p.parse_args(["--rollout-steps", "5", "--gradients", "--workers", "3", "--worker-id", str(i)]), p).entropy_coefficient
              for i in range(3)]
    assert spread == pytest.approx([0.0, 0.005, 0.01], rel=1e-6), "worker i of 3 adds 0.01 · i/2, as the Swift worker does"
    assert config_from(p.parse_args(["--rollout-steps", "5", "--gradients", "--ent-coef", "0.02"]), p).entropy_coefficient == 0.02, \
        "one worker: the learner's coefficient"


def test_keys_are_read_as_ddpg_keys_writes_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "w.key"
    key.write_text("# ddpg CURVE secret key: keep it private.\n" + "a" * 40 + "\n")
    assert read_key(str(key), "--curve-secret-key") == "a" * 40
    key.write_text("not a key\n")
    with pytest.raises(SystemExit, match="holds no CURVE key"):
        read_key(str(key), "--curve-secret-key")
    with pytest.raises(SystemExit, match="cannot read"):
        read_key(str(tmp_path / "missing"), "--learner-public-key")
