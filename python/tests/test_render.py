"""`ddpg render` and `python -m ddpg_gym.render`: the videos are decoded again (frame count, size, frames that change)
for a native environment (Pendulum through ddpg's own GIF, and through gymnasium to MP4) and a MuJoCo one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
from harness import DDPG, launch_briefly, require_ddpg

from ddpg_gym.render import main as render

require_ddpg()


def frames(path: Path) -> np.ndarray:
    return np.stack(list(iio.imiter(path)))


def random_actor(environment: str, observation_size: int, action_size: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sizes = [observation_size, 32, action_size]
    layers = [{"weights": (rng.normal(size=(n, m)) / np.sqrt(n)).tolist(), "bias": [0.0] * m, "activation": activation}
              for n, m, activation in zip(sizes[:-1], sizes[1:], ["relu", "tanh"], strict=True)]
    return {"format": "ddpg-actor", "version": 2, "head": "deterministic", "environment": environment, "observation_size": observation_size,
            "action_size": action_size, "action_low": [-1.0] * action_size, "action_high": [1.0] * action_size, "layers": layers}


def test_a_mujoco_environment_renders_to_mp4(tmp_path: Path) -> None:
    (tmp_path / "actor.json").write_text(json.dumps(random_actor("HalfCheetah-v5", 17, 6)))
    out = tmp_path / "cheetah.mp4"
    assert render(["--actor", str(tmp_path / "actor.json"), "--out", str(out), "--max-steps", "40", "--episodes", "2"]) == 0
    video = frames(out)
    assert video.shape == (2 * 41, 480, 480, 3), "each episode's first frame and one per step, at MuJoCo's 480×480"
    assert np.abs(video[40].astype(int) - video[0].astype(int)).mean() > 1, "the cheetah moved"
    assert video.mean() > 20, "not a black frame: MuJoCo drew"


def test_render_names_what_is_wrong(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "actor.json").write_text(json.dumps(random_actor("HalfCheetah-v5", 17, 6)))
    assert render(["--actor", str(tmp_path / "actor.json"), "--out", str(tmp_path / "a.avi")]) == 1
    assert "must end in .mp4 or .gif" in capsys.readouterr().err
    assert render(["--actor", str(tmp_path / "actor.json"), "--env", "NoSuchEnv-v0", "--out", str(tmp_path / "a.gif")]) == 1
    assert "--env NoSuchEnv-v0" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text(json.dumps(random_actor("HalfCheetah-v5", 16, 6)))
    assert render(["--actor", str(tmp_path / "bad.json"), "--out", str(tmp_path / "a.gif")]) == 1, "a 16-input actor for 17 observations"
    assert "HalfCheetah-v5 has 17 observation dimensions" in capsys.readouterr().err


def test_ddpg_render_draws_a_trained_pendulum_as_gif_and_mp4(tmp_path: Path) -> None:
    run = tmp_path / "run"
    launch_briefly(run, "Pendulum-v1", "--learning-starts", "1000")
    native = subprocess.run([str(DDPG), "render", str(run), "--out", str(tmp_path / "swing.gif")], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    gif = frames(tmp_path / "swing.gif")
    assert gif.shape[:3] == (200, 280, 240), "ddpg's own rasterizer: one frame a step, 240×280"
    # Above the torque bar and captions (y ≥ 238): the pendulum alone.
    assert np.abs(gif[-1, :230].astype(int) - gif[0, :230].astype(int)).mean() > 0.5, "the pendulum moved"

    gym = subprocess.run([str(DDPG), "render", str(run), "--out", str(tmp_path / "swing.mp4"), "--episodes", "2", "--max-steps", "60",
                          "--python", sys.executable], capture_output=True, text=True, timeout=120)
    assert gym.returncode == 0, gym.stderr
    assert "episode 2/2: 60 steps" in gym.stderr, "progress on standard error"
    mp4 = frames(tmp_path / "swing.mp4")
    assert mp4.shape == (2 * 61, 500, 500, 3), "gymnasium's renderer, 500×500"
    assert np.abs(mp4[30].astype(int) - mp4[0].astype(int)).mean() > 0.5

    wrong = subprocess.run([str(DDPG), "render", str(run), "--out", str(tmp_path / "x.svg"), "--episodes", "2"],
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode != 0 and "SVG animation is drawn for Pendulum-v1 alone, over one episode" in wrong.stderr


def test_ddpg_render_draws_cartpole_itself(tmp_path: Path) -> None:
    run = tmp_path / "run"
    launch_briefly(run, "CartPole-v1", "--algorithm", "a2c")
    drawn = subprocess.run([str(DDPG), "render", str(run), "--out", str(tmp_path / "cartpole.gif")], capture_output=True, text=True, timeout=60)
    assert drawn.returncode == 0, drawn.stderr
    steps = int(drawn.stdout.split(": ")[1].split(" steps")[0])
    gif = frames(tmp_path / "cartpole.gif")
    assert gif.shape[:3] == (steps, 240, 300), "ddpg's own rasterizer: one frame a step, 300×240"
    # Above the captions (y ≥ 200): the cart and the pole alone.
    assert steps >= 8 and np.abs(gif[-1, :190].astype(int) - gif[0, :190].astype(int)).mean() > 0.05, "the pole or the cart moved"
