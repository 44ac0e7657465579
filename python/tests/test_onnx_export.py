"""The ONNX exporter (ddpg_gym.onnx_export) against the `ddpg-actor` document's own definition, in NumPy, for every
head and normalization; and its refusals. tests/test_processes.py checks it against ddpg's forward pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest

from ddpg_gym.document import DocumentActor, DocumentError
from ddpg_gym.onnx_export import build_model, main

EPSILON = 1e-5


def document(head: str, sizes: list[int], action_size: int, *, normalization: str | None = None, observation_statistics: bool = False,
             seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    layers: list[dict[str, Any]] = []
    for index, (inputs, outputs) in enumerate(pairwise(sizes)):
        last = index == len(sizes) - 2
        layer: dict[str, Any] = {"weights": (rng.normal(size=(inputs, outputs)) / np.sqrt(inputs)).tolist(),
                                 "bias": rng.normal(scale=0.1, size=outputs).tolist(),
                                 "activation": ("identity" if head in ("categorical", "gaussian") else "tanh") if last
                                 else ("tanh" if head in ("categorical", "gaussian") else "relu")}
        if normalization and not last:
            layer |= {"normalization": normalization, "gain": rng.uniform(0.5, 1.5, outputs).tolist(),
                      "shift": rng.normal(scale=0.1, size=outputs).tolist()}
            if normalization == "batch":
                layer |= {"running_mean": rng.normal(size=outputs).tolist(), "running_variance": rng.uniform(0.2, 3, outputs).tolist()}
        layers.append(layer)
    low = -rng.uniform(0.5, 3, action_size)
    high = rng.uniform(0.5, 3, action_size)
    doc: dict[str, Any] = {"format": "ddpg-actor", "version": 2, "head": head, "observation_size": sizes[0], "action_size": action_size,
                           "action_low": low.tolist(), "action_high": high.tolist(), "layer_sizes": sizes, "layers": layers,
                           "environment": "Test-v0", "env_steps": 1, "updates": 1, "weights_version": 1}
    if observation_statistics:
        doc["observation_normalization"] = {"mean": rng.normal(size=sizes[0]).tolist(), "std": rng.uniform(0.1, 4, sizes[0]).tolist(), "clip": 5.0}
    return doc


def reference_actions(doc: dict[str, Any], observations: np.ndarray) -> np.ndarray:
    """The document's definition (docs/CHECKPOINTS.md and ActorExport's comment), in float64."""
    x = observations.astype(np.float64)
    if (n := doc.get("observation_normalization")) is not None:
        x = np.clip((x - np.asarray(n["mean"])) / np.asarray(n["std"]), -n["clip"], n["clip"])
    for layer in doc["layers"]:
        z = x @ np.asarray(layer["weights"]) + np.asarray(layer["bias"])
        if layer.get("normalization") == "layer":
            z = (z - z.mean(axis=1, keepdims=True)) / np.sqrt(z.var(axis=1, keepdims=True) + EPSILON)
        elif layer.get("normalization") == "batch":
            z = (z - np.asarray(layer["running_mean"])) / np.sqrt(np.asarray(layer["running_variance"]) + EPSILON)
        if "normalization" in layer:
            z = np.asarray(layer["gain"]) * z + np.asarray(layer["shift"])
        activations: dict[str, Callable[[np.ndarray], np.ndarray]] = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "identity": lambda v: v}
        x = activations[layer["activation"]](z)
    low, high = np.asarray(doc["action_low"]), np.asarray(doc["action_high"])
    if doc["head"] == "categorical":
        return np.asarray(np.argmax(x, axis=1))
    if doc["head"] == "gaussian":
        return np.asarray(np.clip(x[:, : doc["action_size"]], low, high))
    return np.asarray((high - low) / 2 * x + (high + low) / 2)


def run(model: Any, observations: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["action"], {"observation": observations.astype(np.float32)})[0])


@pytest.mark.parametrize(("head", "normalization", "statistics"), [
    ("deterministic", None, False), ("deterministic", "layer", True), ("deterministic", "batch", False),
    ("squashed_gaussian", None, True), ("gaussian", None, False), ("categorical", None, False)])
def test_the_model_acts_as_the_document_defines(head: str, normalization: str | None, statistics: bool) -> None:
    actions = 4 if head == "categorical" else 3
    doc = document(head, [7, 32, 16, actions], actions if head != "categorical" else 1, normalization=normalization,
                   observation_statistics=statistics)
    observations = np.random.default_rng(1).normal(scale=2, size=(1_000, 7)).astype(np.float32)
    got, expected = run(build_model(doc), observations), reference_actions(doc, observations)
    by_document = DocumentActor(doc)(observations)
    assert by_document.dtype == got.dtype and np.max(np.abs(by_document - expected)) <= 1e-5, "ddpg_gym.document's actor, which render plays"
    if head == "categorical":
        assert got.dtype == np.int64 and got.shape == (1_000,)
        assert np.array_equal(got, expected)
        assert len(set(got.tolist())) > 1, "the observations reach more than one choice"
    else:
        assert got.shape == (1_000, actions)
        assert np.max(np.abs(got - expected)) <= 1e-5
        assert np.ptp(got, axis=0).min() > 0.1, "the actions vary with the observation"


def test_a_bad_document_is_refused_by_name() -> None:
    doc = document("deterministic", [3, 8, 1], 1)
    doc["layers"][1]["weights"] = doc["layers"][1]["weights"][:-1]
    with pytest.raises(DocumentError, match=r"layers\[1\]\.weights: expected shape \(8, 1\), got \(7, 1\)"):
        build_model(doc)
    doc = document("deterministic", [3, 8, 1], 1)
    doc["layers"][0]["bias"][2] = float("nan")
    with pytest.raises(DocumentError, match=r"layers\[0\]\.bias: holds a value that is not finite"):
        build_model(doc)
    with pytest.raises(DocumentError, match="not a ddpg-actor document"):
        build_model({"format": "something-else", "version": 2})
    doc = document("deterministic", [3, 8, 2], 2)
    doc["action_size"], doc["action_low"], doc["action_high"] = 3, [-1.0] * 3, [1.0] * 3
    with pytest.raises(DocumentError, match="the last layer gives 2 values for action_size 3"):
        build_model(doc)
    doc = document("deterministic", [3, 8, 1], 1)
    doc["layers"][0]["weights"][1] = doc["layers"][0]["weights"][1][:-1]
    with pytest.raises(DocumentError, match=r"layers\[0\]\.weights: not an array of numbers"):
        build_model(doc)
    doc = document("deterministic", [3, 8, 1], 1, observation_statistics=True)
    doc["observation_normalization"]["std"][1] = 0.0
    with pytest.raises(DocumentError, match="std and clip must be positive"):
        build_model(doc)


def test_an_export_that_disagrees_with_its_check_is_not_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = document("deterministic", [3, 8, 2], 2)
    doc["action_low"], doc["action_high"] = [-1.0, -1.0], [1.0, 1.0]  # the tolerance is in units of half-ranges over 1
    observations = np.random.default_rng(2).normal(size=(50, 3)).astype(np.float32)
    actions = reference_actions(doc, observations)
    out = tmp_path / "actor.onnx"
    doc["check"] = {"observations": observations.tolist(), "actions": actions.tolist()}
    (tmp_path / "good.json").write_text(json.dumps(doc))
    assert main(["--actor", str(tmp_path / "good.json"), "--out", str(out)]) == 0
    assert "on 50 observations, max |difference|" in capsys.readouterr().out and out.stat().st_size > 0
    out.unlink()
    actions[17, 1] += 1e-3
    doc["check"]["actions"] = actions.tolist()
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert main(["--actor", str(tmp_path / "bad.json"), "--out", str(out)]) == 1
    assert "differ from ddpg's by up to 0.001" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".*partial*")), "nothing written, nothing left behind"
