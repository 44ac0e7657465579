"""The broadcast actor, evaluated with numpy: ReLU or tanh hidden layers (normalized when the learner's are), then a head:
deterministic or a squashed Gaussian (SAC) mapped onto the action bounds through tanh, or the on-policy heads (A2C, protocol 7),
a categorical over a Discrete space's indices and a Gaussian whose draws are clipped to the bounds."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .wire import EnvironmentSpec, Weights


class ShapeError(ValueError):
    """Weights that do not fit this worker's environment."""


EPSILON = np.float32(1e-5)
#: The squashed Gaussian's bounds on log σ (the Swift SquashedGaussian's, CleanRL's).
LOG_STD_MIN, LOG_STD_MAX = np.float32(-5), np.float32(2)
HALF_LOG_TWO_PI = np.float32(0.5 * np.log(2 * np.pi))


#: A normalized hidden layer's gain and shift, and for batch normalization its running mean and variance (None: layer
#: normalization, which uses each row's own).
Norm = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]


def hidden_layers(h: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]], norms: list[Norm | None], activation: str) -> np.ndarray:
    """ddpg's MLP's hidden layers on a batch, in float32 as the Swift network computes them: x·W + b, normalized where a
    layer has a norm, then tanh or ReLU."""
    for (w, b), norm in zip(layers, norms, strict=True):
        h = h @ w
        h += b
        if norm is not None:
            gain, shift, mean, variance = norm
            if mean is None:
                mean, variance = h.mean(axis=1, keepdims=True), h.var(axis=1, keepdims=True)
            h = (h - mean) / np.sqrt(variance + EPSILON) * gain + shift
        if activation == "tanh":
            np.tanh(h, out=h)
        else:
            np.maximum(h, 0, out=h)
    return h


class NumpyActor:
    """Weights and biases are views into the message's parameter array, laid out as the protocol says:
    layer by layer, the weights (inputs × outputs, row-major), the biases, and a normalized hidden layer's
    gains and shifts; then, for batch normalization, each hidden layer's running means and variances."""

    def __init__(self, weights: Weights, spec: EnvironmentSpec) -> None:
        sizes = weights.layer_sizes
        if sizes[0] != spec.observation_size or weights.action_size != spec.action_size:
            raise ShapeError(f"weights for a {sizes[0]} → {weights.action_size} actor, but {spec.id} has observation "
                             f"{spec.observation_size} and action {spec.action_size}")
        if (weights.action_low.tobytes() != spec.action_low.tobytes()
                or weights.action_high.tobytes() != spec.action_high.tobytes()):
            raise ShapeError(f"weights map onto actions in [{weights.action_low}, {weights.action_high}], "
                             f"but {spec.id}'s are [{spec.action_low}, {spec.action_high}]")
        parameters = np.asarray(weights.parameters, dtype=np.float32)
        self.normalization = weights.normalization
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        # Per hidden layer when normalized: (gain, shift, running mean, running variance), the last two for batch normalization.
        self.norms: list[Norm] = []
        offset = 0
        for index, (inputs, outputs) in enumerate(pairwise(sizes)):
            w = parameters[offset:offset + inputs * outputs].reshape(inputs, outputs)
            offset += inputs * outputs
            b = parameters[offset:offset + outputs]
            offset += outputs
            self.layers.append((w, b))
            if self.normalization != "none" and index < len(sizes) - 2:
                self.norms.append((parameters[offset:offset + outputs], parameters[offset + outputs:offset + 2 * outputs], None, None))
                offset += 2 * outputs
        if self.normalization == "batch":
            for index, width in enumerate(sizes[1:-1]):
                gain, shift, _, _ = self.norms[index]
                self.norms[index] = (gain, shift, parameters[offset:offset + width], parameters[offset + width:offset + 2 * width])
                offset += 2 * width
        self.layer_sizes = list(sizes)
        self.observation_normalization = weights.observation_normalization
        self.head = weights.head
        self.hidden_activation = weights.hidden_activation
        self.action_size = weights.action_size
        # CleanRL's action_scale and action_bias, in float32 as the Swift actor computes them.
        self.scale = (spec.action_high - spec.action_low) / np.float32(2)
        self.bias = (spec.action_high + spec.action_low) / np.float32(2)
        self.low, self.high = spec.action_low, spec.action_high

    @property
    def is_stochastic(self) -> bool:
        return self.head != "deterministic"

    def _outputs(self, observations: np.ndarray) -> np.ndarray:
        h = np.asarray(observations, dtype=np.float32)
        if self.observation_normalization is not None:
            h = self.observation_normalization.apply(h)
        hidden = self.layers[:-1]
        h = hidden_layers(h, hidden, list(self.norms) if self.normalization != "none" else [None] * len(hidden), self.hidden_activation)
        w, b = self.layers[-1]
        out: np.ndarray = h @ w
        out += b
        return out

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """The policy's action for a batch of observations, (n, observation size) → (n, action size), float32: μ(s),
        a squashed Gaussian's most likely action, a categorical's most likely index (the first of equals), or a Gaussian's
        mean clipped to the bounds: what evaluations play."""
        out = self._outputs(observations)
        if self.head == "categorical":
            indices: np.ndarray = np.argmax(out, axis=1).astype(np.float32).reshape(-1, 1)
            return indices
        if self.head == "gaussian":
            clipped: np.ndarray = np.clip(out[:, :self.action_size], self.low, self.high)
            return clipped.astype(np.float32)
        if self.head != "deterministic":
            out = out[:, :self.action_size]
        np.tanh(out, out=out)
        actions: np.ndarray = out * self.scale + self.bias
        return actions

    def sample(self, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Actions drawn from π(· | s): a squashed Gaussian's scale · tanh(m + σ·ε) + bias; μ(s) for a deterministic head;
        an on-policy head's draw as the environment steps it (a Gaussian's clipped to the bounds)."""
        if self.head in ("categorical", "gaussian"):
            drawn, _ = self.sample_with_log_probabilities(observations, rng)
            return self.clip(drawn)
        if self.head == "deterministic":
            return self(observations)
        out = self._outputs(observations)
        mean, raw = out[:, :self.action_size], out[:, self.action_size:]
        log_std = LOG_STD_MIN + np.float32(0.5) * (LOG_STD_MAX - LOG_STD_MIN) * (np.tanh(raw) + 1)
        u = mean + np.exp(log_std) * rng.standard_normal(mean.shape).astype(np.float32)
        actions: np.ndarray = np.tanh(u) * self.scale + self.bias
        return actions.astype(np.float32)

    @property
    def is_on_policy(self) -> bool:
        return self.head in ("categorical", "gaussian")

    def sample_with_log_probabilities(self, observations: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """An on-policy head's draws and their log-probabilities, as a segment carries them: a categorical's index
        (as float32, shape (n, 1)), or a Gaussian's m + σ·ε before clipping."""
        out = self._outputs(observations).astype(np.float64)
        if self.head == "categorical":
            shifted = out - out.max(axis=1, keepdims=True)
            log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            cumulative = np.cumsum(np.exp(log_softmax), axis=1)
            u = rng.random((out.shape[0], 1))
            index = np.minimum((cumulative < u * cumulative[:, -1:]).sum(axis=1), out.shape[1] - 1)
            log_probabilities = log_softmax[np.arange(out.shape[0]), index]
            return index.astype(np.float32).reshape(-1, 1), log_probabilities.astype(np.float32)
        if self.head != "gaussian":
            raise ValueError(f"a {self.head} head is not an on-policy one")
        a = self.action_size
        mean, log_std = out[:, :a], out[:, a:]
        epsilon = rng.standard_normal(mean.shape)
        drawn = mean + np.exp(log_std) * epsilon
        log_probabilities = (-0.5 * epsilon**2 - log_std - float(HALF_LOG_TWO_PI)).sum(axis=1)
        return drawn.astype(np.float32), log_probabilities.astype(np.float32)

    def clip(self, drawn: np.ndarray) -> np.ndarray:
        """A Gaussian's draws clipped to the bounds, as the environment steps them (an index is left as it is)."""
        if self.head != "gaussian":
            return drawn
        clipped: np.ndarray = np.clip(drawn, self.low, self.high).astype(np.float32)
        return clipped
