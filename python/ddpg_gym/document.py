"""The `ddpg-actor` JSON document (`ddpg export`, docs/CHECKPOINTS.md) as a policy: the actions it defines, in float32
as ddpg computes them. What `python -m ddpg_gym.render` plays, and what the ONNX export is tested against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .actor import Norm, hidden_layers


class DocumentError(ValueError):
    """A document that is not a ddpg-actor of version 2, or whose arrays do not fit together; the message names the field."""


def _array(values: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float32)
    except (ValueError, TypeError) as error:
        raise DocumentError(f"{name}: not an array of numbers of shape {shape} ({error})") from None
    if array.shape != shape:
        raise DocumentError(f"{name}: expected shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise DocumentError(f"{name}: holds a value that is not finite")
    return array


class DocumentActor:
    """Acts as evaluations play: the deterministic action, a squashed Gaussian's mean, a Gaussian's clipped mean, or a
    categorical's likeliest index."""

    def __init__(self, document: dict[str, Any]) -> None:
        if document.get("format") != "ddpg-actor" or document.get("version") != 2:
            raise DocumentError(f"not a ddpg-actor document of version 2: format {document.get('format')!r}, version {document.get('version')!r}")
        try:
            self.head: str = document["head"]
            self.environment: str = document.get("environment", "")
            self.observation_size, self.action_size = int(document["observation_size"]), int(document["action_size"])
            self.low = _array(document["action_low"], "action_low", (self.action_size,))
            self.high = _array(document["action_high"], "action_high", (self.action_size,))
            self.normalization: tuple[np.ndarray, np.ndarray, np.float32] | None = None
            if (n := document.get("observation_normalization")) is not None:
                std = _array(n["std"], "observation_normalization.std", (self.observation_size,))
                clip = np.float32(n["clip"])
                if not np.all(std > 0) or not (np.isfinite(clip) and clip > 0):
                    raise DocumentError("observation_normalization: std and clip must be positive")
                self.normalization = (_array(n["mean"], "observation_normalization.mean", (self.observation_size,)), np.float32(1) / std, clip)
            self.layers: list[dict[str, Any]] = []
            width = self.observation_size
            for index, layer in enumerate(document["layers"]):
                outputs = len(layer["bias"])
                parsed: dict[str, Any] = {"weights": _array(layer["weights"], f"layers[{index}].weights", (width, outputs)),
                                          "bias": _array(layer["bias"], f"layers[{index}].bias", (outputs,)),
                                          "activation": layer["activation"], "normalization": layer.get("normalization")}
                if parsed["activation"] not in ("relu", "tanh", "identity"):
                    raise DocumentError(f"layers[{index}]: unknown activation {parsed['activation']!r}")
                if parsed["normalization"] not in (None, "layer", "batch"):
                    raise DocumentError(f"layers[{index}]: unknown normalization {parsed['normalization']!r}")
                if parsed["normalization"] is not None:
                    for key in ("gain", "shift") + (("running_mean", "running_variance") if parsed["normalization"] == "batch" else ()):
                        parsed[key] = _array(layer[key], f"layers[{index}].{key}", (outputs,))
                self.layers.append(parsed)
                width = outputs
        except KeyError as error:
            raise DocumentError(f"missing field {error}") from None
        except (TypeError, ValueError) as error:
            raise DocumentError(f"malformed: {error}") from None
        if self.head not in ("deterministic", "squashed_gaussian", "gaussian", "categorical"):
            raise DocumentError(f"unknown head {self.head!r}")
        if not self.layers:
            raise DocumentError("layers: none")
        # The last layer gives the actions (or, for a categorical, one logit per choice of the single index).
        if self.head == "categorical" and (self.action_size != 1 or width < 2):
            raise DocumentError(f"a categorical head has action_size 1 and at least 2 logits, not {self.action_size} and {width}")
        if self.head != "categorical" and width != self.action_size:
            raise DocumentError(f"the last layer gives {width} values for action_size {self.action_size}")
        self.outputs = width
        activations = {layer["activation"] for layer in self.layers[:-1]}
        if len(activations) > 1 or activations & {"identity"}:
            raise DocumentError(f"hidden layers: one activation, relu or tanh, for all of them; got {sorted(activations)}")
        self.hidden_activation = activations.pop() if activations else "relu"
        self.hidden = [(layer["weights"], layer["bias"]) for layer in self.layers[:-1]]
        self.norms: list[Norm | None] = [None if layer["normalization"] is None else
                                         (layer["gain"], layer["shift"], layer.get("running_mean"), layer.get("running_variance"))
                                         for layer in self.layers[:-1]]

    @staticmethod
    def load(path: str | Path) -> DocumentActor:
        return DocumentActor(json.loads(Path(path).read_text()))

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations: (n, A) float32, or (n,) int64 indices for a categorical head."""
        x = np.asarray(observations, dtype=np.float32).reshape(-1, self.observation_size)
        if self.normalization is not None:
            mean, inverse, clip = self.normalization
            x = np.clip((x - mean) * inverse, -clip, clip)
        x = hidden_layers(x, self.hidden, self.norms, self.hidden_activation)
        last = self.layers[-1]
        x = x @ last["weights"] + last["bias"]
        if last["activation"] == "tanh":
            x = np.tanh(x)
        elif last["activation"] == "relu":
            x = np.maximum(x, 0)
        if self.head == "categorical":
            return np.asarray(np.argmax(x, axis=1))
        if self.head == "gaussian":
            return np.asarray(np.clip(x, self.low, self.high), dtype=np.float32)
        return np.asarray((self.high - self.low) / 2 * x + (self.high + self.low) / 2, dtype=np.float32)
