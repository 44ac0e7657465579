"""The broadcast actor, evaluated with numpy: ReLU hidden layers (normalized when the learner's are), then tanh
mapped onto the action bounds."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .wire import EnvironmentSpec, Weights


class ShapeError(ValueError):
    """Weights that do not fit this worker's environment."""


EPSILON = np.float32(1e-5)


class NumpyActor:
    """Weights and biases are views into the message's parameter array, laid out as the protocol says:
    layer by layer, the weights (inputs × outputs, row-major), the biases, and a normalized hidden layer's
    gains and shifts; then, for batch normalization, each hidden layer's running means and variances."""

    def __init__(self, weights: Weights, spec: EnvironmentSpec) -> None:
        sizes = weights.layer_sizes
        if sizes[0] != spec.observation_size or sizes[-1] != spec.action_size:
            raise ShapeError(f"weights for a {sizes[0]} → {sizes[-1]} actor, but {spec.id} has observation "
                             f"{spec.observation_size} and action {spec.action_size}")
        if (weights.action_low.tobytes() != spec.action_low.tobytes()
                or weights.action_high.tobytes() != spec.action_high.tobytes()):
            raise ShapeError(f"weights map onto actions in [{weights.action_low}, {weights.action_high}], "
                             f"but {spec.id}'s are [{spec.action_low}, {spec.action_high}]")
        parameters = np.asarray(weights.parameters, dtype=np.float32)
        self.normalization = weights.normalization
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        # Per hidden layer when normalized: (gain, shift, running mean, running variance), the last two for batch normalization.
        self.norms: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]] = []
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
        # CleanRL's action_scale and action_bias, in float32 as the Swift actor computes them.
        self.scale = (spec.action_high - spec.action_low) / np.float32(2)
        self.bias = (spec.action_high + spec.action_low) / np.float32(2)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations, shape (n, observation size) → (n, action size), float32."""
        h = np.asarray(observations, dtype=np.float32)
        for index, (w, b) in enumerate(self.layers[:-1]):
            h = h @ w
            h += b
            if self.normalization != "none":
                gain, shift, mean, variance = self.norms[index]
                if mean is None:  # layer normalization, over each row's units
                    mean, variance = h.mean(axis=1, keepdims=True), h.var(axis=1, keepdims=True)
                h = (h - mean) / np.sqrt(variance + EPSILON) * gain + shift
            np.maximum(h, 0, out=h)
        w, b = self.layers[-1]
        out = h @ w
        out += b
        np.tanh(out, out=out)
        actions: np.ndarray = out * self.scale + self.bias
        return actions
