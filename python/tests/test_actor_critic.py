"""A3C's numpy gradient: against the Swift worker's (golden vectors the Swift suite writes) and against finite differences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ddpg_gym import wire
from ddpg_gym.actor_critic import DenseNetwork, LossSettings, actor_critic_gradient, estimate_advantages

GOLDEN = Path(__file__).parent / "golden_gradients"


def f32(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def load(head: str) -> tuple[wire.Weights, wire.Segment, LossSettings, dict[str, Any]]:
    fields = json.loads((GOLDEN / f"{head}.json").read_text())
    sizes = fields["layer_sizes"]
    weights = wire.Weights(wire.Publication(1, 0, 0), 1, 0, sizes, f32([0]), f32([1]), f32(fields["parameters"]), None, "none", head,
                           fields["hidden_activation"], fields["value_layer_sizes"], f32(fields["value_parameters"]))
    s = fields["segment"]
    o, steps = sizes[0], s["steps"]
    segment = wire.Segment(1, 1, 0, 1, steps, f32(s["observations"]).reshape(-1, o), f32(s["actions"]).reshape(len(s["rewards"]), -1),
                           f32(s["rewards"]), f32(s["log_probabilities"]), f32(s["bootstrap_observations"]).reshape(-1, o),
                           f32(s["truncation_observations"]).reshape(-1, o), np.array(s["terminated"]), np.array(s["truncated"]))
    settings = LossSettings(**fields["settings"])
    return weights, segment, settings, fields["expected"]


@pytest.mark.parametrize("head", ["categorical", "gaussian"])
def test_the_gradient_is_the_swift_workers_from_the_same_segment_and_weights(head: str) -> None:
    weights, segment, settings, expected = load(head)
    assert segment.terminated.any() and (segment.truncated & ~segment.terminated).any(), "the vector covers both episode ends"
    gradient = actor_critic_gradient(weights, segment, settings)
    for name in ("policy", "value"):
        ours, theirs = getattr(gradient, name), np.asarray(expected[name])
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5 * np.abs(theirs).max(), err_msg=f"{head} {name} gradient")
    for name in ("policy_loss", "value_loss", "entropy", "explained_variance"):
        assert getattr(gradient, name) == pytest.approx(expected[name], rel=1e-4, abs=1e-5), name


def fixed_target_losses(weights: wire.Weights, segment: wire.Segment, settings: LossSettings, actor: np.ndarray,
                        critic: np.ndarray) -> float:
    """The loss at other parameters with the advantages and returns of `weights` held fixed, as the gradient treats them."""
    assert weights.value_layer_sizes is not None and weights.value_parameters is not None
    base = DenseNetwork(weights.value_layer_sizes, weights.value_parameters, "tanh")
    n, e = segment.rows, segment.environments
    observations = segment.observations.astype(np.float64)
    v = base.forward(np.concatenate([observations, segment.bootstrap_observations, segment.truncation_observations]))[0][:, 0]
    advantages, returns = estimate_advantages(segment, v[:n], v[n:n + e], v[n + e:], settings.gamma, settings.gae_lambda)
    if settings.normalize_advantage:
        advantages = (advantages - advantages.mean()) / (advantages.std(ddof=1) + 1e-8)
    value = DenseNetwork(weights.value_layer_sizes, critic, "tanh").forward(observations)[0][:, 0]
    z = DenseNetwork(weights.layer_sizes, actor, "tanh").forward(observations)[0]
    if weights.head == "categorical":
        log_p = z - z.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        log_probability = log_p[np.arange(n), segment.actions[:, 0].astype(int)]
        entropy = -(np.exp(log_p) * log_p).sum(axis=1)
    else:
        a = z.shape[1] // 2
        standardized = (segment.actions - z[:, :a]) / np.exp(z[:, a:])
        log_probability = (-0.5 * standardized**2 - z[:, a:] - 0.5 * np.log(2 * np.pi)).sum(axis=1)
        entropy = (0.5 + 0.5 * np.log(2 * np.pi) + z[:, a:]).sum(axis=1)
    return float(-(advantages * log_probability).mean() - settings.ent_coef * entropy.mean()
                 + settings.vf_coef * ((value - returns) ** 2).mean())


@pytest.mark.parametrize("head", ["categorical", "gaussian"])
def test_the_gradient_agrees_with_central_differences(head: str) -> None:
    weights, segment, settings, _ = load(head)
    gradient = actor_critic_gradient(weights, segment, settings)
    assert weights.value_parameters is not None
    actor, critic = weights.parameters.astype(np.float64), weights.value_parameters.astype(np.float64)
    h = 1e-6
    for which, parameters, analytic in (("policy", actor, gradient.policy), ("value", critic, gradient.value)):
        numeric = np.zeros_like(parameters)
        for i in range(parameters.size):
            up, down = parameters.copy(), parameters.copy()
            up[i] += h
            down[i] -= h
            args = (up, critic) if which == "policy" else (actor, up)
            args_down = (down, critic) if which == "policy" else (actor, down)
            numeric[i] = (fixed_target_losses(weights, segment, settings, *args)
                          - fixed_target_losses(weights, segment, settings, *args_down)) / (2 * h)
        if which == "policy" and head == "gaussian":
            # σ depends on its bias only: the log σ outputs' weights get no gradient, whatever the loss says.
            inputs, outputs = weights.layer_sizes[-2], weights.layer_sizes[-1]
            start = actor.size - (inputs + 1) * outputs
            held = numeric[start:start + inputs * outputs].reshape(inputs, outputs)[:, outputs // 2:]
            assert np.abs(held).max() > 0 and (analytic[start:start + inputs * outputs].reshape(inputs, outputs)[:, outputs // 2:] == 0).all()
            held[:] = 0
        np.testing.assert_allclose(analytic, numeric, rtol=0, atol=2e-5 * max(np.abs(numeric).max(), 1e-3), err_msg=f"{head} {which}")


def test_weights_without_a_value_network_are_refused_by_name() -> None:
    weights, segment, settings, _ = load("categorical")
    weights.value_layer_sizes = weights.value_parameters = None
    with pytest.raises(ValueError, match="no value network"):
        actor_critic_gradient(weights, segment, settings)
