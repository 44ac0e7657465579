"""The broadcast actor, evaluated with numpy: ReLU hidden layers, then tanh mapped onto the action bounds."""

from __future__ import annotations

import numpy as np

from .wire import EnvironmentSpec, Weights


class ShapeError(ValueError):
    """Weights that do not fit this worker's environment."""


class NumpyActor:
    """Weights and biases are views into the message's parameter array, laid out as the protocol says:
    layer by layer, the weights (inputs × outputs, row-major), then the biases."""

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
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        offset = 0
        for inputs, outputs in zip(sizes, sizes[1:]):
            w = parameters[offset:offset + inputs * outputs].reshape(inputs, outputs)
            offset += inputs * outputs
            b = parameters[offset:offset + outputs]
            offset += outputs
            self.layers.append((w, b))
        self.layer_sizes = list(sizes)
        # CleanRL's action_scale and action_bias, in float32 as the Swift actor computes them.
        self.scale = (spec.action_high - spec.action_low) / np.float32(2)
        self.bias = (spec.action_high + spec.action_low) / np.float32(2)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations, shape (n, observation size) → (n, action size), float32."""
        h = np.asarray(observations, dtype=np.float32)
        for w, b in self.layers[:-1]:
            h = h @ w
            h += b
            np.maximum(h, 0, out=h)
        w, b = self.layers[-1]
        out = h @ w
        out += b
        np.tanh(out, out=out)
        return out * self.scale + self.bias
