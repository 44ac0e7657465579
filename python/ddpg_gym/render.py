"""`ddpg render`'s second half for gymnasium's environments: play an exported actor (a `ddpg-actor` document) for some
episodes with `render_mode="rgb_array"` and write the frames as MP4 (imageio with imageio-ffmpeg, whose wheel carries
ffmpeg) or GIF, at the environment's own frame rate. One line of progress every second on standard error."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .document import DocumentActor, DocumentError


class RenderError(Exception):
    """What is missing or wrong, in one sentence."""


def play(actor: DocumentActor, env_id: str, episodes: int, seed: int, max_steps: int | None) -> tuple[list[np.ndarray], list[float], float]:
    """The frames of `episodes` episodes (the first observation's frame included), their returns, and the frame rate."""
    # Headless: MuJoCo draws through EGL (Mesa's software renderer where there is no GPU), pygame to no window.
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import gymnasium as gym

    try:
        env = gym.make(env_id, render_mode="rgb_array", max_episode_steps=max_steps)
    except Exception as error:  # gymnasium raises many kinds: unknown id, missing extra, no renderer
        raise RenderError(f"--env {env_id}: {error}") from error
    observation_size = int(np.prod(env.observation_space.shape or (0,)))
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    action_size = 1 if discrete else int(np.prod(env.action_space.shape or (0,)))
    if observation_size != actor.observation_size or action_size != actor.action_size or discrete != (actor.head == "categorical"):
        env.close()
        raise RenderError(f"{env_id} has {observation_size} observation dimensions and {env.action_space} actions; the actor was made for "
                          f"{actor.observation_size} and {actor.action_size} ({actor.head}), for {actor.environment or 'another environment'}")
    frames: list[np.ndarray] = []
    returns: list[float] = []
    last_report = time.monotonic()
    try:
        fps = float(env.metadata.get("render_fps") or 30)
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            frames.append(np.asarray(env.render()))
            total, steps, done = 0.0, 0, False
            while not done:
                action = actor(np.asarray(observation, dtype=np.float32).reshape(1, -1))[0]
                step_action: Any = int(action) if actor.head == "categorical" else action.reshape(env.action_space.shape)
                observation, reward, terminated, truncated, _ = env.step(step_action)
                total += float(reward)
                steps += 1
                done = bool(terminated or truncated)
                frames.append(np.asarray(env.render()))
                if time.monotonic() - last_report >= 1:
                    last_report = time.monotonic()
                    print(f"episode {episode + 1}/{episodes}: step {steps}, return so far {total:.1f}", file=sys.stderr, flush=True)
            returns.append(total)
            print(f"episode {episode + 1}/{episodes}: {steps} steps, return {total:.1f}", file=sys.stderr, flush=True)
    except gym.error.DependencyNotInstalled as error:
        raise RenderError(f"{env_id} cannot draw itself here: {error}") from error
    finally:
        env.close()
    return frames, returns, fps


def write(frames: list[np.ndarray], out: Path, fps: float) -> None:
    try:
        import imageio.v3 as iio
    except ImportError as error:
        raise RenderError(f"imageio is not installed in {sys.executable}: `{sys.executable} -m pip install imageio imageio-ffmpeg`") from error
    suffix = out.suffix.lower()
    if suffix == ".gif":
        # GIF delays are whole hundredths of a second.
        iio.imwrite(out, np.stack(frames), extension=".gif", duration=max(20, round(1000 / fps / 10) * 10), loop=0)
        return
    if suffix != ".mp4":
        raise RenderError(f"--out {out}: must end in .mp4 or .gif")
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError as error:
        raise RenderError(f"imageio-ffmpeg (which carries ffmpeg) is not installed in {sys.executable}: "
                          f"`{sys.executable} -m pip install imageio-ffmpeg`") from error
    height, width = frames[0].shape[:2]
    # H.264 in yuv420p needs even sides; an odd one is padded by a pixel rather than the frame resized.
    padded = [np.pad(f, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge") for f in frames]
    _write_mp4(out, padded, fps)


def _write_mp4(out: Path, frames: list[np.ndarray], fps: float) -> None:
    import imageio.v2 as imageio

    writer = imageio.get_writer(out, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=1,
                                quality=7, ffmpeg_log_level="error")
    try:
        for frame in frames:
            writer.append_data(frame)
    finally:
        writer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddpg_gym.render", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--actor", required=True, help="the ddpg-actor JSON document (`ddpg export`)")
    parser.add_argument("--env", help="the gymnasium environment id (default: the document's)")
    parser.add_argument("--out", required=True, help="the video: .mp4 or .gif")
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=12_345, help="the first episode's reset seed; episode k uses seed + k")
    parser.add_argument("--max-steps", type=int, default=None, help="cut each episode at this many steps (default: the environment's limit)")
    args = parser.parse_args(argv)
    try:
        if args.episodes < 1:
            raise RenderError(f"--episodes: must be at least 1, got {args.episodes}")
        if args.max_steps is not None and args.max_steps < 1:
            raise RenderError(f"--max-steps: must be at least 1, got {args.max_steps}")
        out = Path(args.out)
        if out.suffix.lower() not in (".mp4", ".gif"):
            raise RenderError(f"--out {out}: must end in .mp4 or .gif")
        actor = DocumentActor.load(args.actor)
        env_id = args.env or actor.environment
        if not env_id:
            raise RenderError("--env: the document names no environment; give one")
        frames, returns, fps = play(actor, env_id, args.episodes, args.seed, args.max_steps)
        write(frames, out, fps)
        height, width = frames[0].shape[:2]
        print(f"{out}: {len(frames)} frames of {width}×{height} at {fps:g} fps, {args.episodes} episode(s) of {env_id}, "
              f"returns {', '.join(f'{r:.1f}' for r in returns)}")
    except (RenderError, DocumentError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
