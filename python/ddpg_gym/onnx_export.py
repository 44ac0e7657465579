"""`ddpg export --format onnx`'s second half: a `ddpg-actor` JSON document (docs/CHECKPOINTS.md) as an ONNX model.

The graph is the actor as evaluations play it, with nothing left for the caller to add: observation normalization
when the run used it, each dense layer with its layer or batch normalization (running statistics folded in as
constants), the activations, and the head — tanh and the per-dimension `scale·t + bias` onto the action bounds, the
mean of a squashed Gaussian, the clipped mean of a Gaussian, or the most likely choice of a categorical (with its logits).

Input `observation` is (batch, observation size) float32. Output `action` is (batch, action size) float32, or
(batch,) int64 for a categorical head, whose `logits` are a second output.

Written with the `onnx` package rather than from Swift: its protobuf schema, operator versions and checker are
maintained upstream, and a model that passes `onnx.checker` is one every runtime reads. When the document carries a
`check` (observations and the actions ddpg's own forward pass took on them) and onnxruntime is installed, the model
is run on them and refused if any action differs by more than --tolerance.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .actor import EPSILON as NORMALIZATION_EPSILON
from .document import DocumentActor, DocumentError

OPSET = 17  # LayerNormalization's first version
IR_VERSION = 8  # with opset 17: onnxruntime 1.12 and later


class ExportError(Exception):
    """What is missing, or what onnxruntime found, in one sentence."""


def build_model(document: dict[str, Any]) -> Any:
    """The ONNX ModelProto of one `ddpg-actor` document (version 2); a bad document raises DocumentError naming the field."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as error:
        raise ExportError(f"the onnx package is not installed in {sys.executable}: `{sys.executable} -m pip install onnx onnxruntime`") from error
    actor = DocumentActor(document)
    nodes: list[Any] = []
    constants: list[Any] = []

    def constant(name: str, value: np.ndarray | np.floating[Any]) -> str:
        constants.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    x = "observation"
    if actor.normalization is not None:
        # Times 1/σ, as ddpg computes it (Sources/Policy/ObservationNormalization.swift), for the same roundings.
        mean, inverse, clip = actor.normalization
        x = node("Sub", [x, constant("observation_mean", mean)], "observation_centred")
        x = node("Mul", [x, constant("observation_inverse_std", inverse)], "observation_scaled")
        x = node("Clip", [x, constant("observation_clip_low", -clip), constant("observation_clip_high", clip)], "observation_normalized")
    for index, layer in enumerate(actor.layers):
        z = node("MatMul", [x, constant(f"layer{index}_weights", layer["weights"])], f"layer{index}_matmul")
        z = node("Add", [z, constant(f"layer{index}_bias", layer["bias"])], f"layer{index}_z")
        if layer["normalization"] == "layer":
            z = node("LayerNormalization", [z, constant(f"layer{index}_gain", layer["gain"]), constant(f"layer{index}_shift", layer["shift"])],
                     f"layer{index}_normalized", axis=-1, epsilon=float(NORMALIZATION_EPSILON))
        elif layer["normalization"] == "batch":
            z = node("BatchNormalization", [z, constant(f"layer{index}_gain", layer["gain"]), constant(f"layer{index}_shift", layer["shift"]),
                                            constant(f"layer{index}_running_mean", layer["running_mean"]),
                                            constant(f"layer{index}_running_variance", layer["running_variance"])],
                     f"layer{index}_normalized", epsilon=float(NORMALIZATION_EPSILON))
        activation = {"relu": "Relu", "tanh": "Tanh"}.get(layer["activation"])
        x = node(activation, [z], f"layer{index}_out") if activation else z

    outputs = []
    if actor.head in ("deterministic", "squashed_gaussian"):
        # The last layer's tanh is in the document; what is left is the map of [−1, 1] onto the bounds.
        x = node("Mul", [x, constant("action_scale", (actor.high - actor.low) / 2)], "action_scaled")
        node("Add", [x, constant("action_bias", (actor.high + actor.low) / 2)], "action")
        outputs.append(helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", actor.action_size]))
    elif actor.head == "gaussian":
        x = node("Max", [x, constant("action_low", actor.low)], "action_above_low")
        node("Min", [x, constant("action_high", actor.high)], "action")
        outputs.append(helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", actor.action_size]))
    else:
        nodes.append(helper.make_node("Identity", [x], ["logits"], name="logits"))
        node("ArgMax", [x], "action", axis=1, keepdims=0)
        outputs.append(helper.make_tensor_value_info("action", TensorProto.INT64, ["batch"]))
        outputs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", actor.outputs]))

    observation = helper.make_tensor_value_info("observation", TensorProto.FLOAT, ["batch", actor.observation_size])
    graph = helper.make_graph(nodes, "ddpg_actor", [observation], outputs, initializer=constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ddpg")
    model.ir_version = IR_VERSION
    recorded = ("environment", "env_steps", "updates", "weights_version", "head")
    provenance: dict[str, str] = {key: str(document[key]) for key in recorded if key in document}
    helper.set_model_props(model, provenance)
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise ExportError(f"onnx.checker refused the model: {error}") from error
    return model


def check_against_ddpg(model: Any, check: dict[str, Any], actor: DocumentActor) -> float:
    """Runs `model` in onnxruntime on the check's observations: the largest |difference| from ddpg's actions, each dimension's
    in units of its half-range (high − low)/2 where that is over 1, since float32's rounding scales with it."""
    import onnxruntime

    observations = np.asarray(check["observations"], dtype=np.float32).reshape(-1, actor.observation_size)
    expected = np.asarray(check["actions"], dtype=np.float64)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    actions = np.asarray(session.run(["action"], {"observation": observations})[0], dtype=np.float64)
    if actor.head == "categorical":
        actions = actions.reshape(-1, 1)
    if actions.shape != expected.shape:
        raise ExportError(f"onnxruntime gave actions of shape {actions.shape}, ddpg {expected.shape}")
    units = np.maximum(1, (actor.high.astype(np.float64) - actor.low) / 2) if actor.head != "categorical" else np.ones(1)
    return float(np.max(np.abs(actions - expected) / units)) if actions.size else 0.0


def write_atomically(out: Path, data: bytes) -> None:
    """Beside `out` first, then renamed over it: a failure leaves whatever was there before."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddpg_gym.onnx_export", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--actor", required=True, help="the ddpg-actor JSON document (`ddpg export --format json`)")
    parser.add_argument("--out", required=True, help="the ONNX file to write")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="largest |onnxruntime − ddpg| allowed on the document's check (per action dimension, over max(1, half-range))")
    parser.add_argument("--name", help="what error messages call the document (default: --actor)")
    args = parser.parse_args(argv)
    name = args.name or args.actor
    try:
        document = json.loads(Path(args.actor).read_text())
        model = build_model(document)
        check = document.get("check")
        if check is not None:
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                print(f"warning: onnxruntime is not installed in {sys.executable}, so {args.out} was not checked against ddpg's forward pass",
                      file=sys.stderr)
            else:
                worst = check_against_ddpg(model, check, DocumentActor(document))
                count = len(check["observations"])
                if not worst <= args.tolerance:
                    raise ExportError(f"onnxruntime's actions differ from ddpg's by up to {worst:.3g} on {count} observations "
                                      f"(allowed {args.tolerance:g}); {args.out} not written")
                print(f"checked: onnxruntime against ddpg's forward pass on {count} observations, max |difference| {worst:.3g}")
        write_atomically(Path(args.out), model.SerializeToString())
    except (ExportError, DocumentError, KeyError, ValueError, TypeError, OSError) as error:
        message = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        print(f"error: {name}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
