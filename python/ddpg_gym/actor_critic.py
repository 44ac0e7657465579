"""A3C's gradient as a worker computes it (protocol 7, kind 7), with numpy.

The loss is the Swift ``ActorCriticAgent``'s, on one segment acted with the weights it is differentiated at:

    L = −mean(Â · log π(a | s)) − ent_coef · mean(H(π(· | s))) + vf_coef · mean((R − V(s))²)

Â and R come from GAE(λ) over each environment's steps, bootstrapping from V at the segment's end and at truncations,
never at terminations. Both MLPs are differentiated by hand; float64 throughout, so that the float32 gradient sent matches
a Swift worker's from the same segment and weights to float tolerance (golden vectors in both test suites hold them to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .wire import Segment, Weights

HALF_LOG_TWO_PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True)
class LossSettings:
    """The worker's share of the learner's on-policy settings (`ddpg learner --gamma --gae-lambda --vf-coef --ent-coef`)."""
    gamma: float = 0.99
    gae_lambda: float = 1.0
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    normalize_advantage: bool = False


@dataclass
class ActorCriticGradient:
    policy: np.ndarray  # float32, laid out as the weights' actor parameters
    value: np.ndarray  # float32, laid out as the weights' value network
    policy_loss: float
    value_loss: float  # mean (R − V)², before the coefficient
    entropy: float
    explained_variance: float


class DenseNetwork:
    """An MLP over a flat parameter vector laid out as the protocol's weights: per layer the weights (inputs × outputs,
    row-major) then the biases; ReLU or tanh hidden layers and a linear output."""

    def __init__(self, sizes: list[int], parameters: np.ndarray, activation: str) -> None:
        if activation not in ("relu", "tanh"):
            raise ValueError(f"hidden activation {activation!r}: expected relu or tanh")
        flat = np.asarray(parameters, dtype=np.float64)
        self.sizes, self.activation, self.count = list(sizes), activation, flat.size
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        offset = 0
        for inputs, outputs in pairwise(sizes):
            w = flat[offset:offset + inputs * outputs].reshape(inputs, outputs)
            b = flat[offset + inputs * outputs:offset + (inputs + 1) * outputs]
            self.layers.append((w, b))
            offset += (inputs + 1) * outputs
        if offset != flat.size:
            raise ValueError(f"{flat.size} parameters for layers {sizes}, which have {offset}")

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The outputs, and each layer's input (what backward needs)."""
        inputs: list[np.ndarray] = []
        h = np.asarray(x, dtype=np.float64)
        for index, (w, b) in enumerate(self.layers):
            inputs.append(h)
            h = h @ w + b
            if index < len(self.layers) - 1:
                h = np.tanh(h) if self.activation == "tanh" else np.maximum(h, 0)
        return h, inputs

    def backward(self, inputs: list[np.ndarray], output_gradient: np.ndarray) -> np.ndarray:
        """∂L/∂θ as a flat vector in the parameters' layout, given ∂L/∂outputs."""
        pieces: list[np.ndarray] = []
        d = output_gradient
        for index in range(len(self.layers) - 1, -1, -1):
            w, _ = self.layers[index]
            x = inputs[index]
            pieces.append(d.sum(axis=0))
            pieces.append((x.T @ d).ravel())
            if index > 0:
                d = d @ w.T
                # x is the previous layer's activation: tanh′ = 1 − tanh², ReLU′ = [x > 0].
                d = d * (1 - x * x) if self.activation == "tanh" else d * (x > 0)
        return np.concatenate(pieces[::-1])


def estimate_advantages(segment: Segment, values: np.ndarray, bootstrap_values: np.ndarray, truncation_values: np.ndarray,
                        gamma: float, gae_lambda: float) -> tuple[np.ndarray, np.ndarray]:
    """GAE(λ) advantages and returns R = Â + V(s) of every row, walking each environment backwards (environment-major rows)."""
    steps, n = segment.steps, segment.rows
    advantages, returns = np.zeros(n), np.zeros(n)
    truncation = len(truncation_values)
    for environment in range(segment.environments - 1, -1, -1):
        following = 0.0
        for t in range(steps - 1, -1, -1):
            row = environment * steps + t
            if segment.terminated[row]:
                following_value, continues = 0.0, False
            elif segment.truncated[row]:
                truncation -= 1
                following_value, continues = float(truncation_values[truncation]), False
            else:
                following_value = float(bootstrap_values[environment]) if t == steps - 1 else float(values[row + 1])
                continues = t < steps - 1
            delta = float(segment.rewards[row]) + gamma * following_value - float(values[row])
            following = delta + (gamma * gae_lambda * following if continues else 0.0)
            advantages[row] = following
            returns[row] = following + values[row]
    return advantages, returns


def _policy_terms(head: str, outputs: np.ndarray, actions: np.ndarray, advantages: np.ndarray,
                  ent_coef: float) -> tuple[float, float, np.ndarray]:
    """The policy loss −mean(Â log π), the mean entropy, and ∂(policy loss − ent_coef · entropy)/∂outputs."""
    n = outputs.shape[0]
    if head == "categorical":
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        p = np.exp(log_p)
        chosen = actions[:, 0].astype(np.int64)
        log_probability = log_p[np.arange(n), chosen]
        entropy = -(p * log_p).sum(axis=1)
        one_hot = np.zeros_like(p)
        one_hot[np.arange(n), chosen] = 1
        # ∂H/∂z_k = −p_k (log p_k + H).
        gradient = -advantages[:, None] * (one_hot - p) + ent_coef * p * (log_p + entropy[:, None])
    elif head == "gaussian":
        a = outputs.shape[1] // 2
        mean, log_std = outputs[:, :a], outputs[:, a:]
        std = np.exp(log_std)
        standardized = (actions - mean) / std
        log_probability = (-0.5 * standardized**2 - log_std - HALF_LOG_TWO_PI).sum(axis=1)
        entropy = (0.5 + HALF_LOG_TWO_PI + log_std).sum(axis=1)
        gradient = np.concatenate([-advantages[:, None] * standardized / std,
                                   -advantages[:, None] * (standardized**2 - 1) - ent_coef], axis=1)
    else:
        raise ValueError(f"a {head} head is not an on-policy one")
    return float(-(advantages * log_probability).mean()), float(entropy.mean()), gradient / n


def _explained_variance(values: np.ndarray, returns: np.ndarray) -> float:
    variance = returns.var()
    # SB3 reports NaN when the returns do not vary; 0 says the same without poisoning averages.
    return 0.0 if variance == 0 else float(1 - (returns - values).var() / variance)


def actor_critic_gradient(weights: Weights, segment: Segment, settings: LossSettings) -> ActorCriticGradient:
    """The gradient of the actor–critic loss on `segment` at `weights` (an A3C learner's: it carries the value network)."""
    if weights.value_layer_sizes is None or weights.value_parameters is None:
        raise ValueError("these weights carry no value network: they come from no a3c learner")
    if weights.normalization != "none":
        raise ValueError(f"{weights.normalization}-normalized networks: an a3c learner's are not normalized")
    if weights.head not in ("categorical", "gaussian"):
        raise ValueError(f"a {weights.head} head is not an on-policy one")
    actor = DenseNetwork(weights.layer_sizes, weights.parameters, weights.hidden_activation)
    critic = DenseNetwork(weights.value_layer_sizes, weights.value_parameters, weights.hidden_activation)
    n, e = segment.rows, segment.environments
    observations = np.asarray(segment.observations, dtype=np.float64).reshape(n, -1)

    # V of every row, every bootstrap observation and every truncated episode's last one, in one pass.
    stacked = np.concatenate([observations, np.asarray(segment.bootstrap_observations, np.float64).reshape(e, -1),
                              np.asarray(segment.truncation_observations, np.float64).reshape(-1, observations.shape[1])])
    v_all, value_inputs = critic.forward(stacked)
    v = v_all[:, 0]
    advantages, returns = estimate_advantages(segment, v[:n], v[n:n + e], v[n + e:], settings.gamma, settings.gae_lambda)
    # The value loss's gradient on the rows; the bootstrap rows are targets, held fixed.
    dv = np.zeros_like(v_all)
    dv[:n, 0] = settings.vf_coef * 2 * (v[:n] - returns) / n
    value_gradient = critic.backward(value_inputs, dv)
    value_loss = float(((v[:n] - returns) ** 2).mean())
    explained_variance = _explained_variance(v[:n], returns)

    if settings.normalize_advantage and n > 1:
        # torch's std is the unbiased one, and SB3 adds 1e-8 to it.
        advantages = (advantages - advantages.mean()) / (advantages.std(ddof=1) + 1e-8)
    outputs, policy_inputs = actor.forward(observations)
    actions = np.asarray(segment.actions, dtype=np.float64).reshape(n, -1)
    policy_loss, entropy, d_outputs = _policy_terms(weights.head, outputs, actions, advantages, settings.ent_coef)
    policy_gradient = actor.backward(policy_inputs, d_outputs)
    if weights.head == "gaussian":
        # The log σ outputs' weights get no gradient: σ is a function of nothing but its bias.
        inputs, outputs_count = weights.layer_sizes[-2], weights.layer_sizes[-1]
        last = policy_gradient[actor.count - (inputs + 1) * outputs_count:actor.count - outputs_count].reshape(inputs, outputs_count)
        last[:, outputs_count // 2:] = 0
    return ActorCriticGradient(policy_gradient.astype(np.float32), value_gradient.astype(np.float32), policy_loss, value_loss, entropy,
                               explained_variance)
