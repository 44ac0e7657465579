"""The Python codec against the golden vectors the Swift test suite writes and checks."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ddpg_gym import wire
from ddpg_gym.actor import NumpyActor

GOLDEN = Path(__file__).parent / "golden"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.bin"))


def floats(values: list[Any]) -> np.ndarray:
    return np.array([float(v) for v in values], dtype="<f4")


def build(fields: dict[str, Any]) -> wire.Message:
    """The message a golden .json describes."""
    kind = fields["kind"]
    if kind == "hello":
        s = fields["spec"]
        spec = wire.EnvironmentSpec(s["id"], floats(s["observation_low"]), floats(s["observation_high"]), floats(s["action_low"]),
                                    floats(s["action_high"]), float(s["reward_low"]), float(s["reward_high"]), s["max_episode_steps"],
                                    s.get("discrete_actions"))
        token = wire.evaluator_token(fields["token"]) if "token" in fields else wire.NO_TOKEN
        return wire.Hello(fields["worker_id"], fields["session"], fields["environment_count"], fields["seed"], spec, fields["role"],
                          fields["next_sequence"], token)
    if kind == "transitions":
        o, a = fields["observation_size"], fields["action_size"]
        return wire.Transitions(fields["worker_id"], fields["session"], fields["sequence"], fields["weights_version"],
                                floats(fields["observations"]).reshape(-1, o), floats(fields["actions"]).reshape(-1, a),
                                floats(fields["rewards"]), floats(fields["discounts"]), floats(fields["next_observations"]).reshape(-1, o),
                                np.array(fields["terminated"]), np.array(fields["truncated"]), fields.get("receipt", 0))
    if kind == "segment":
        o, a = fields["observation_size"], fields["action_size"]
        return wire.Segment(fields["worker_id"], fields["session"], fields["sequence"], fields["weights_version"], fields["steps"],
                            floats(fields["observations"]).reshape(-1, o), floats(fields["actions"]).reshape(-1, a), floats(fields["rewards"]),
                            floats(fields["log_probabilities"]), floats(fields["bootstrap_observations"]).reshape(-1, o),
                            floats(fields["truncation_observations"]).reshape(-1, o), np.array(fields["terminated"]),
                            np.array(fields["truncated"]), fields["receipt"])
    if kind == "episode":
        return wire.EpisodeReport(fields["worker_id"], fields["session"], fields["length"], fields["return"], fields["weights_version"])
    if kind == "worker_status":
        return wire.WorkerStatus(fields["worker_id"], fields["session"], fields["final"], fields["transitions_sent"], fields["episodes"],
                                 fields["messages_sent"])
    if kind == "evaluation":
        return wire.EvaluationReport(fields["worker_id"], fields["session"], fields["final"],
                                     wire.Publication(fields["weights_version"], fields["updates"], fields["env_steps"]),
                                     fields["returns"], fields["lengths"], fields.get("nonce", 0))
    if kind == "weights":
        r = fields.get("evaluation_request")
        request = wire.EvaluationRequest(r["mark"], r["episodes"], r["seed"], r["final"]) if r else None
        return wire.Weights(wire.Publication(fields["version"], fields["updates"], fields["env_steps"]), fields["learner_id"],
                            fields["published_at_ns"], fields["layer_sizes"], floats(fields["action_low"]), floats(fields["action_high"]),
                            floats(fields["parameters"]), request, fields.get("normalization", "none"), fields.get("head", "deterministic"),
                            fields.get("hidden_activation", "relu"), fields.get("value_layer_sizes"),
                            floats(fields["value_parameters"]) if "value_parameters" in fields else None,
                            wire.ObservationNormalization(floats(n["mean"]), floats(n["std"]), n["clip"])
                            if (n := fields.get("observation_normalization")) else None)
    if kind == "gradient":
        return wire.Gradient(fields["worker_id"], fields["session"], fields["sequence"], fields["weights_version"], fields["rows"],
                             floats(fields["policy"]), floats(fields["value"]), fields["receipt"], fields["policy_loss"], fields["value_loss"],
                             fields["entropy"], fields["explained_variance"])
    if kind == "announce":
        return wire.Announce(fields["learner_id"], fields["weights_version"], fields["max_transitions_per_message"], fields["credit"])
    if kind == "acknowledgement":
        t = fields.get("ticket")
        ticket = wire.EvaluationTicket(t["mark"], t["final"], t["nonce"]) if t else None
        return wire.Acknowledgement(fields["learner_id"], fields["worker_id"], fields["session"], fields["next_sequence"], fields["credit"], ticket,
                                    fields.get("receipt", 0))
    if kind == "shutdown":
        return wire.Shutdown()
    raise AssertionError(f"unknown kind {kind}")


def same(a: Any, b: Any) -> bool:
    """Equality that compares float32 arrays bit for bit (infinities included)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.dtype == bool or y.dtype == bool:
            return x.shape == y.shape and bool((x.astype(bool) == y.astype(bool)).all())
        return x.shape == y.shape and x.astype("<f4").tobytes() == y.astype("<f4").tobytes()
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return bool(a == b)


def test_every_kind_has_a_golden_vector() -> None:
    kinds = {json.loads((GOLDEN / f"{name}.json").read_text())["kind"] for name in NAMES}
    assert kinds == {"hello", "transitions", "segment", "gradient", "episode", "worker_status", "evaluation", "weights", "announce",
                     "acknowledgement", "shutdown"}


@pytest.mark.parametrize("name", NAMES)
def test_encodes_the_golden_bytes(name: str) -> None:
    fields = json.loads((GOLDEN / f"{name}.json").read_text())
    assert wire.encode(build(fields)) == (GOLDEN / f"{name}.bin").read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_decodes_the_golden_bytes(name: str) -> None:
    fields = json.loads((GOLDEN / f"{name}.json").read_text())
    assert same(wire.decode((GOLDEN / f"{name}.bin").read_bytes()), build(fields))


def test_an_old_peer_is_told_the_version() -> None:
    data = bytearray((GOLDEN / "episode.bin").read_bytes())
    struct.pack_into("<H", data, 4, wire.VERSION - 1)
    expected = f"unsupported protocol version {wire.VERSION - 1}: this package speaks version {wire.VERSION} only"
    with pytest.raises(wire.ProtocolError, match=expected) as error:
        wire.decode(bytes(data))
    assert error.value.reason == "unsupported_version"


@pytest.mark.parametrize("name", NAMES)
def test_truncated_and_extended_frames_are_rejected_not_crashed(name: str) -> None:
    data = (GOLDEN / f"{name}.bin").read_bytes()
    for cut in range(len(data)):
        with pytest.raises(wire.ProtocolError):
            wire.decode(data[:cut])
    with pytest.raises(wire.ProtocolError):
        wire.decode(data + b"\0")


def test_flipped_bits_raise_protocol_errors_only() -> None:
    rng = np.random.default_rng(7)
    for name in NAMES:
        data = (GOLDEN / f"{name}.bin").read_bytes()
        for _ in range(300):
            flipped = bytearray(data)
            bit = int(rng.integers(len(data) * 8))
            flipped[bit // 8] ^= 1 << (bit % 8)
            try:
                wire.decode(bytes(flipped))
            except wire.ProtocolError as error:
                assert error.reason in {"too_short", "bad_magic", "unsupported_version", "unknown_kind", "reserved_bits",
                                        "length_mismatch", "dimension_mismatch", "out_of_range", "non_finite"}


def test_a_batch_normalized_actor_acts_as_the_swift_actor_does() -> None:
    """The Swift suite writes the actions its own actor takes for three observations beside the weights."""
    fields = json.loads((GOLDEN / "weights_batch_norm.json").read_text())
    weights = wire.decode((GOLDEN / "weights_batch_norm.bin").read_bytes())
    assert isinstance(weights, wire.Weights) and weights.normalization == "batch"
    spec = wire.EnvironmentSpec("Wide-v0", floats([-1, -1, -1]), floats([1, 1, 1]), floats([-1, 0]), floats([1, 4]), float("-inf"),
                                float("inf"), 1000)
    actions = NumpyActor(weights, spec)(floats(fields["probe_observations"]).reshape(3, 3))
    np.testing.assert_allclose(actions.ravel(), floats(fields["probe_actions"]), rtol=1e-5, atol=1e-6)


def test_a_squashed_gaussian_actor_plays_its_mean_as_the_swift_actor_does_and_samples_within_the_bounds() -> None:
    fields = json.loads((GOLDEN / "weights_squashed_gaussian.json").read_text())
    weights = wire.decode((GOLDEN / "weights_squashed_gaussian.bin").read_bytes())
    assert isinstance(weights, wire.Weights) and weights.head == "squashed_gaussian" and weights.action_size == 2
    spec = wire.EnvironmentSpec("Wide-v0", floats([-1, -1, -1]), floats([1, 1, 1]), floats([-1, 0]), floats([1, 4]), float("-inf"),
                                float("inf"), 1000)
    actor = NumpyActor(weights, spec)
    observations = floats(fields["probe_observations"]).reshape(3, 3)
    np.testing.assert_allclose(actor(observations).ravel(), floats(fields["probe_actions"]), rtol=1e-5, atol=1e-6)
    draws = actor.sample(np.repeat(observations[:1], 2_000, axis=0), np.random.default_rng(1))
    assert draws.dtype == np.float32 and (draws >= spec.action_low).all() and (draws <= spec.action_high).all()
    assert draws.std(axis=0).min() > 0.01, "a stochastic policy's draws vary"



def test_an_actor_with_observation_normalization_normalizes_and_clips_as_the_swift_actor_does() -> None:
    fields = json.loads((GOLDEN / "weights_observation_normalization.json").read_text())
    weights = wire.decode((GOLDEN / "weights_observation_normalization.bin").read_bytes())
    assert isinstance(weights, wire.Weights) and weights.observation_normalization is not None
    assert weights.observation_normalization.clip == 2
    spec = wire.EnvironmentSpec("Wide-v0", floats([-1, -1, -1]), floats([1, 1, 1]), floats([-1, 0]), floats([1, 4]), float("-inf"),
                                float("inf"), 1000)
    actor = NumpyActor(weights, spec)
    observations = floats(fields["probe_observations"]).reshape(3, 3)
    np.testing.assert_allclose(actor(observations).ravel(), floats(fields["probe_actions"]), rtol=1e-5, atol=1e-6)
    unnormalized = NumpyActor(wire.Weights(**{**weights.__dict__, "observation_normalization": None}), spec)
    assert not np.allclose(unnormalized(observations), actor(observations)), "the normalization changes what the actor plays"


@pytest.mark.parametrize("field, value, reason", [("clip", 0.0, "out_of_range"), ("std", -1.0, "out_of_range"), ("mean", float("nan"), "non_finite")])
def test_a_hostile_observation_normalization_is_rejected_by_name(field: str, value: float, reason: str) -> None:
    data = bytearray((GOLDEN / "weights_observation_normalization.bin").read_bytes())
    weights = wire.decode(bytes(data))
    assert isinstance(weights, wire.Weights)
    # After the header, the 64-byte fixed body, 3 layer sizes, 2 + 2 bounds, the count and 26 parameters: clip, 3 means, 3 σ.
    clip_at = 12 + 64 + 4 * 3 + 8 * 2 + 4 + 4 * weights.parameters.size
    at = {"clip": clip_at, "mean": clip_at + 4, "std": clip_at + 4 + 12}[field]
    struct.pack_into("<f", data, at, value)
    with pytest.raises(wire.ProtocolError) as error:
        wire.decode(bytes(data))
    assert error.value.reason == reason


def test_a_head_the_package_does_not_know_or_an_output_layer_it_cannot_split_is_out_of_range() -> None:
    data = bytearray((GOLDEN / "weights_squashed_gaussian.bin").read_bytes())
    unknown = bytearray(data)
    unknown[72] = 6  # the output activation: 2 to 5 are the heads this version knows
    with pytest.raises(wire.ProtocolError, match="output activation") as error:
        wire.decode(bytes(unknown))
    assert error.value.reason == "out_of_range"
    odd = bytearray(data)
    struct.pack_into("<I", odd, 76 + 8, 3)  # the output layer: 3 values for a head with 2 per action
    with pytest.raises(wire.ProtocolError, match="output layer") as error:
        wire.decode(bytes(odd))
    assert error.value.reason == "out_of_range"


@pytest.mark.parametrize("head", ["categorical", "gaussian"])
def test_an_on_policy_actor_plays_as_the_swift_actor_does_and_its_draws_carry_their_log_probabilities(head: str) -> None:
    """Tanh hidden layers; the categorical plays its most likely index, the Gaussian its mean clipped to the bounds."""
    fields = json.loads((GOLDEN / f"weights_{head}.json").read_text())
    weights = wire.decode((GOLDEN / f"weights_{head}.bin").read_bytes())
    assert isinstance(weights, wire.Weights) and weights.head == head and weights.hidden_activation == "tanh"
    low, high = floats(fields["action_low"]), floats(fields["action_high"])
    o = fields["layer_sizes"][0]
    spec = wire.EnvironmentSpec("CartPole-v1" if head == "categorical" else "Wide-v0", floats([-1] * o), floats([1] * o), low, high,
                                float("-inf"), float("inf"), 500, 2 if head == "categorical" else None)
    actor = NumpyActor(weights, spec)
    observations = floats(fields["probe_observations"]).reshape(3, o)
    np.testing.assert_allclose(actor(observations).ravel(), floats(fields["probe_actions"]), rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(3)
    drawn, log_probabilities = actor.sample_with_log_probabilities(np.repeat(observations[:1], 4_000, axis=0), rng)
    assert drawn.dtype == np.float32 and log_probabilities.shape == (4_000,) and np.isfinite(log_probabilities).all()
    outputs = actor._outputs(observations[:1]).astype(np.float64)[0]
    if head == "categorical":
        probabilities = np.exp(outputs - outputs.max()) / np.exp(outputs - outputs.max()).sum()
        np.testing.assert_allclose(log_probabilities, np.log(probabilities[drawn[:, 0].astype(int)]), rtol=1e-5)
        frequencies = np.bincount(drawn[:, 0].astype(int), minlength=2) / 4_000
        np.testing.assert_allclose(frequencies, probabilities, atol=0.03)
    else:
        mean, log_std = outputs[:2], outputs[2:]
        expected = (-0.5 * ((drawn - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(axis=1)
        np.testing.assert_allclose(log_probabilities, expected, rtol=1e-4, atol=1e-4)
        stepped = actor.clip(drawn)
        assert (stepped >= low).all() and (stepped <= high).all() and (drawn != stepped).any(), "draws go past the bounds; the steps do not"
