"""`ddpg export --format onnx` from real runs, as users run it: the model onnxruntime loads acts as `ddpg act` (the
actor's own Swift forward pass) does on 1,000 observations, for DDPG, TD3, a layer-normalized actor trained on
normalized observations, and SAC's squashed Gaussian."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from harness import DDPG, launch_briefly, require_ddpg

require_ddpg()

OBSERVATIONS = 1_000


@pytest.mark.parametrize("flags", [(), ("--algorithm", "td3"), ("--actor-norm", "layer", "--normalize-observations"), ("--algorithm", "sac")],
                         ids=["ddpg", "td3", "layer-normalized", "sac"])
def test_the_onnx_actor_acts_as_ddpg_does(tmp_path: Path, flags: tuple[str, ...]) -> None:
    run, model = tmp_path / "run", tmp_path / "actor.onnx"
    launch_briefly(run, "Pendulum-v1", "--learning-starts", "1000", *flags)
    export = subprocess.run([str(DDPG), "export", str(run), "--format", "onnx", "--out", str(model), "--python", sys.executable],
                            capture_output=True, text=True, timeout=120)
    assert export.returncode == 0, export.stderr
    assert f"onnxruntime against ddpg's forward pass on {OBSERVATIONS} observations" in export.stdout

    # Pendulum's observations: cos θ, sin θ and θ̇ in [−8, 8], a little beyond; float32, so the CSV carries them exactly.
    rng = np.random.default_rng(7)
    observations = rng.uniform([-1.2, -1.2, -9], [1.2, 1.2, 9], size=(OBSERVATIONS, 3)).astype(np.float32)
    (tmp_path / "observations.csv").write_text("\n".join(",".join(f"{v:.9g}" for v in row) for row in observations) + "\n")
    act = subprocess.run([str(DDPG), "act", str(run), "--observations", str(tmp_path / "observations.csv")],
                         capture_output=True, text=True, timeout=60)
    assert act.returncode == 0, act.stderr
    by_ddpg = np.loadtxt(io.StringIO(act.stdout), delimiter=",", dtype=np.float64).reshape(OBSERVATIONS, 1)

    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (by_onnx,) = session.run(["action"], {"observation": observations})
    assert by_onnx.shape == (OBSERVATIONS, 1)
    assert np.max(np.abs(by_onnx - by_ddpg)) <= 1e-5
    assert np.ptp(by_ddpg) > 0.1, "a trained actor's action varies with the observation"
    assert np.all(np.abs(by_ddpg) <= 2), "within Pendulum's torque bound"


def test_export_and_act_name_what_is_wrong(tmp_path: Path) -> None:
    run = tmp_path / "run"
    launch_briefly(run)
    (tmp_path / "short.csv").write_text("0.5,0.5,0.1\n0.5,0.5\n")
    act = subprocess.run([str(DDPG), "act", str(run), "--observations", str(tmp_path / "short.csv")], capture_output=True, text=True, timeout=60)
    assert act.returncode != 0 and "line 2: 2 numbers for an actor of 3 observation dimensions" in act.stderr
    missing = subprocess.run([str(DDPG), "export", str(run), "--out", str(tmp_path / "a.onnx"), "--python", "/no/such/python"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "--python" in missing.stderr and "/no/such/python" in missing.stderr
    assert not (tmp_path / "a.onnx").exists()
