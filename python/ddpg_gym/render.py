"""`ddpg render`'s second half for gymnasium's environments: play an exported actor (a `ddpg-actor` document) for some
episodes with `render_mode="rgb_array"` and write the frames as MP4 (imageio with imageio-ffmpeg, whose wheel carries
ffmpeg) or GIF, at the environment's own frame rate. Frames go to the encoder as they are drawn (a long MuJoCo episode
is hundreds of MB of pixels), into a file beside --out that replaces it only when complete. One line of progress every
second on standard error."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .document import DocumentActor, DocumentError


class RenderError(Exception):
    """What is missing or wrong, in one sentence."""


def headless_defaults() -> None:
    """On Linux without a display, MuJoCo draws through EGL (Mesa's software renderer where there is no GPU) and pygame
    to no window; elsewhere, and wherever the user chose, their own settings stand."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("MUJOCO_GL", "egl")
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


class VideoWriter:
    """MP4 (H.264, yuv420p) or GIF, a frame at a time."""

    def __init__(self, path: Path, fps: float) -> None:
        try:
            import imageio.v2 as imageio
        except ImportError as error:
            raise RenderError(f"imageio is not installed in {sys.executable}: `{sys.executable} -m pip install imageio imageio-ffmpeg`") from error
        self.frames = 0
        self.size: tuple[int, int] | None = None
        if path.suffix.lower() == ".gif":
            # GIF delays are whole hundredths of a second.
            self.writer = imageio.get_writer(path, format="GIF", mode="I", duration=max(20, round(1000 / fps / 10) * 10), loop=0)
            return
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as error:
            raise RenderError(f"imageio-ffmpeg (which carries ffmpeg) is not installed in {sys.executable}: "
                              f"`{sys.executable} -m pip install imageio-ffmpeg`") from error
        self.writer = imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=1,
                                         quality=7, ffmpeg_log_level="error")

    def add(self, frame: np.ndarray) -> None:
        height, width = frame.shape[:2]
        if self.size is None:
            self.size = (width, height)
        # H.264 in yuv420p needs even sides: an odd one is padded by a pixel rather than the frame resized.
        if height % 2 or width % 2:
            frame = np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        self.writer.append_data(frame)
        self.frames += 1

    def close(self) -> None:
        self.writer.close()


@contextmanager
def replacing(out: Path) -> Iterator[Path]:
    """A path beside `out` to write to; renamed over `out` when the block ends without an error, removed otherwise."""
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        yield partial
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


Played = tuple[int, tuple[int, int], float, list[float]]


def play(actor: DocumentActor, env_id: str, episodes: int, seed: int, max_steps: int | None, out: Path) -> Played:
    """Plays and writes: the frames written, their (width, height), the frame rate and the episodes' returns."""
    headless_defaults()
    import gymnasium as gym

    try:
        env = gym.make(env_id, render_mode="rgb_array", max_episode_steps=max_steps)
    except Exception as error:  # gymnasium raises many kinds: unknown id, missing extra, no renderer
        raise RenderError(f"--env {env_id}: {error}") from error
    try:
        observation_size = int(np.prod(env.observation_space.shape or (0,)))
        discrete = isinstance(env.action_space, gym.spaces.Discrete)
        action_size = 1 if discrete else int(np.prod(env.action_space.shape or (0,)))
        if observation_size != actor.observation_size or action_size != actor.action_size or discrete != (actor.head == "categorical"):
            made_for = actor.environment or "another environment"
            raise RenderError(f"{env_id} has {observation_size} observation dimensions and {env.action_space} actions; the actor was made "
                              f"for {actor.observation_size} and {actor.action_size} ({actor.head}), for {made_for}")
        fps = float(env.metadata.get("render_fps") or 30)
        returns: list[float] = []
        last_report = time.monotonic()

        def draw() -> np.ndarray:
            try:
                return np.asarray(env.render())
            except Exception as error:  # no OpenGL context, no pygame, no EGL: each library raises its own kind
                raise RenderError(f"{env_id} cannot draw itself here: {type(error).__name__}: {error}") from error

        with replacing(out) as partial:
            writer = VideoWriter(partial, fps)
            try:
                for episode in range(episodes):
                    observation, _ = env.reset(seed=seed + episode)
                    writer.add(draw())
                    total, steps, done = 0.0, 0, False
                    while not done:
                        action = actor(np.asarray(observation, dtype=np.float32).reshape(1, -1))[0]
                        step_action: Any = int(action) if actor.head == "categorical" else action.reshape(env.action_space.shape)
                        observation, reward, terminated, truncated, _ = env.step(step_action)
                        total += float(reward)
                        steps += 1
                        done = bool(terminated or truncated)
                        writer.add(draw())
                        if time.monotonic() - last_report >= 1:
                            last_report = time.monotonic()
                            print(f"episode {episode + 1}/{episodes}: step {steps}, return so far {total:.1f}", file=sys.stderr, flush=True)
                    returns.append(total)
                    print(f"episode {episode + 1}/{episodes}: {steps} steps, return {total:.1f}", file=sys.stderr, flush=True)
            finally:
                writer.close()
        assert writer.size is not None
        return writer.frames, writer.size, fps, returns
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddpg_gym.render", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--actor", required=True, help="the ddpg-actor JSON document (`ddpg export`)")
    parser.add_argument("--env", help="the gymnasium environment id (default: the document's)")
    parser.add_argument("--out", required=True, help="the video: .mp4 or .gif")
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=12_345, help="the first episode's reset seed; episode k uses seed + k")
    parser.add_argument("--max-steps", type=int, default=None, help="cut each episode at this many steps (default: the environment's limit)")
    parser.add_argument("--name", help="what error messages call the document (default: --actor)")
    args = parser.parse_args(argv)
    try:
        if args.episodes < 1:
            raise RenderError(f"--episodes: must be at least 1, got {args.episodes}")
        if args.max_steps is not None and args.max_steps < 1:
            raise RenderError(f"--max-steps: must be at least 1, got {args.max_steps}")
        if args.seed < 0:
            raise RenderError(f"--seed: must be non-negative, got {args.seed}")
        out = Path(args.out)
        if out.suffix.lower() not in (".mp4", ".gif"):
            raise RenderError(f"--out {out}: must end in .mp4 or .gif")
        try:
            actor = DocumentActor.load(args.actor)
        except (DocumentError, ValueError) as error:
            raise RenderError(f"{args.name or args.actor}: {error}") from error
        env_id = args.env or actor.environment
        if not env_id:
            raise RenderError("--env: the document names no environment; give one")
        frames, (width, height), fps, returns = play(actor, env_id, args.episodes, args.seed, args.max_steps, out)
        print(f"{out}: {frames} frames of {width}×{height} at {fps:g} fps, {args.episodes} episode(s) of {env_id}, "
              f"returns {', '.join(f'{r:.1f}' for r in returns)}")
    except (RenderError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
