"""The `ddpg-gym-worker` command line: the flags of `ddpg worker`, for gymnasium environments."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from . import wire
from .worker import GymWorker, StopFlag, WorkerConfig

T = TypeVar("T")

Z85 = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")


def read_key(path: str, flag: str) -> str:
    """The Z85 key in a file `ddpg keys generate` wrote (the first line that is not a comment)."""
    try:
        with open(path) as f:
            lines = [line.strip() for line in f]
    except OSError as error:
        raise SystemExit(f"{flag}: cannot read '{path}': {error.strerror}") from None
    key = next((line for line in lines if line and not line.startswith("#")), "")
    if len(key) != 40 or not set(key) <= Z85:
        raise SystemExit(f"{flag}: '{path}' holds no CURVE key (40 Z85 characters, as `ddpg keys generate` writes)")
    return key


def worker_id(value: str) -> int:
    """A non-negative integer, or `auto`: the host name's FNV-1a hash, as `ddpg worker --worker-id auto`."""
    if value == "auto":
        h = 2_166_136_261
        for byte in socket.gethostname().encode()[:255]:
            h = ((h ^ byte) * 16_777_619) & 0xFFFF_FFFF
        return h & 0x7FFF_FFFF
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number < 2**32:
        raise argparse.ArgumentTypeError(f"'{value}' is neither a non-negative integer nor auto")
    return number


def sigmas(value: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in value.split(","))
    except ValueError:
        values = ()
    if not values or any(not (v >= 0 and math.isfinite(v)) for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated non-negative numbers, got '{value}'")
    return values


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ddpg-gym-worker",
        description="Run a ddpg worker on a gymnasium environment: its own environment copies, seed and noise, "
                    "streaming transitions to a `ddpg learner` (docs/PROTOCOL.md). With --evaluator it plays the "
                    "deterministic episodes the learner asks for instead. Reconnects by itself when the learner restarts; "
                    "SIGINT/SIGTERM flush what it holds and exit.")
    d = WorkerConfig()
    p.add_argument("--env", default=d.env, help="gymnasium environment id with a Box observation space and a Box or Discrete action space "
                                                "(module:Id imports module first; a Discrete one needs --rollout-steps)")
    p.add_argument("--describe", action="store_true", help="print the environment's spec as JSON and exit (what `ddpg launch` checks)")
    p.add_argument("--evaluator", action="store_true", help="evaluate instead of acting")
    p.add_argument("--learner", default=d.learner, help="host name or address of the learner")
    p.add_argument("--transitions-port", type=int, default=d.transitions_port)
    p.add_argument("--weights-port", type=int, default=d.weights_port)
    p.add_argument("--worker-id", type=worker_id, default=0, help="unique within the run, or auto (from the host name)")
    p.add_argument("--workers", type=int, default=d.workers, help="workers in the run (for the noise spread)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--max-env-steps", type=int, default=0, help="stop after this many environment steps (0: until the learner stops)")
    p.add_argument("--envs-per-worker", type=int, default=d.envs_per_worker, help="environments stepped together (gymnasium's vector API)")
    p.add_argument("--vectorization", choices=("sync", "async"), default=d.vectorization,
                   help="sync: in this process; async: one subprocess per environment (for slow environments)")
    p.add_argument("--noise", choices=("gaussian", "ou", "none"), default=d.noise)
    p.add_argument("--noise-sigma", type=float, default=d.noise_sigma, help="σ as a fraction of the action half-range, the base of the spread")
    p.add_argument("--noise-spread-alpha", type=float, default=d.noise_spread_alpha, help="worker i of N explores with σ^(1 + α·i/(N−1))")
    p.add_argument("--noise-sigmas", type=sigmas, default=(), help="explicit per-worker σ list (overrides the spread)")
    p.add_argument("--ou-theta", type=float, default=d.ou_theta)
    p.add_argument("--ou-dt", type=float, default=d.ou_dt)
    p.add_argument("--transitions-per-message", type=int, default=d.transitions_per_message)
    p.add_argument("--flush-ms", type=float, default=d.flush_ms, help="send a partial message after this many milliseconds")
    p.add_argument("--n-step", type=int, default=d.n_step, help="steps summed into each transition's return; the learner's --n-step must match")
    p.add_argument("--gamma", type=float, default=d.gamma, help="discount γ of those returns; the learner's --gamma must match")
    p.add_argument("--rollout-steps", type=int,
                   help="act on-policy for an a2c learner: each environment acts this many steps with the newest weights, sent as one "
                        "segment, then waits for the next weights; the learner's --rollout-steps must match")
    p.add_argument("--gradients", action="store_true",
                   help="(with --rollout-steps) for an a3c learner: send the actor–critic gradient of each segment, computed with the "
                        "newest weights' actor and value network, and act on without waiting")
    p.add_argument("--gae-lambda", type=float, default=d.gae_lambda, help="(--gradients) λ of the advantage estimate; the learner's")
    p.add_argument("--vf-coef", type=float, default=d.vf_coef, help="(--gradients) weight of the value loss; the learner's")
    p.add_argument("--ent-coef", type=float, default=d.ent_coef, help="(--gradients) weight of the entropy bonus")
    p.add_argument("--ent-coefs", type=sigmas, default=(),
                   help="(--gradients) per-worker entropy weights, e.g. 0,0.01,0.001: worker i uses entry i modulo the list's length")
    p.add_argument("--ent-coef-spread", type=float, default=d.ent_coef_spread,
                   help="(--gradients) worker i of N adds this × i/(N−1) to the entropy weight, so that workers explore differently")
    p.add_argument("--normalize-advantage", action="store_true", help="(--gradients) standardize each segment's advantages; the learner's")
    p.add_argument("--send-timeout", type=float, default=d.send_timeout, help="seconds a send may wait before it warns (it keeps trying)")
    p.add_argument("--resolve-timeout", type=float, default=30.0, help="seconds to keep trying to resolve --learner")
    p.add_argument("--curve-secret-key", help="this worker's CURVE secret key file; requires --learner-public-key")
    p.add_argument("--learner-public-key", help="the learner's CURVE public key file")
    p.add_argument("--evaluator-token", help="(--evaluator) the learner's --evaluator-token; or set DDPG_EVALUATOR_TOKEN, which keeps it out of ps")
    p.add_argument("--stats-file", help="write a JSON report of this worker here when it stops")
    p.add_argument("--log-level", default="info", choices=("trace", "debug", "info", "notice", "warning", "error", "critical"))
    p.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    return p


def config_from(args: argparse.Namespace, p: argparse.ArgumentParser) -> WorkerConfig:
    checks = [
        (1 <= args.transitions_port <= 65_535, "--transitions-port", f"must be a port in 1...65535, got {args.transitions_port}"),
        (1 <= args.weights_port <= 65_535, "--weights-port", f"must be a port in 1...65535, got {args.weights_port}"),
        (args.weights_port != args.transitions_port, "--weights-port", f"must differ from --transitions-port ({args.transitions_port})"),
        (args.workers >= 1, "--workers", f"must be at least 1, got {args.workers}"),
        (1 <= args.envs_per_worker <= 4_096, "--envs-per-worker", f"must be in 1...4096, got {args.envs_per_worker}"),
        (args.noise_sigma >= 0, "--noise-sigma", f"must be non-negative, got {args.noise_sigma}"),
        (args.noise_spread_alpha >= 0, "--noise-spread-alpha", f"must be non-negative, got {args.noise_spread_alpha}"),
        (args.ou_theta >= 0, "--ou-theta", f"must be non-negative, got {args.ou_theta}"),
        (args.ou_dt > 0, "--ou-dt", f"must be positive, got {args.ou_dt}"),
        (1 <= args.transitions_per_message <= 65_536, "--transitions-per-message", f"must be in 1...65536, got {args.transitions_per_message}"),
        (args.flush_ms > 0, "--flush-ms", f"must be positive, got {args.flush_ms}"),
        (1 <= args.n_step <= 64, "--n-step", f"must be in 1...64, got {args.n_step}"),
        (0 <= args.gamma <= 1, "--gamma", f"must be in [0, 1], got {args.gamma}"),
        (args.rollout_steps is None or 1 <= args.rollout_steps <= 4_096, "--rollout-steps", f"must be in 1...4096, got {args.rollout_steps}"),
        (not args.gradients or args.rollout_steps is not None, "--gradients", "needs --rollout-steps (an a3c learner's)"),
        (0 <= args.gae_lambda <= 1, "--gae-lambda", f"must be in [0, 1], got {args.gae_lambda}"),
        (args.vf_coef >= 0 and math.isfinite(args.vf_coef), "--vf-coef", f"must be non-negative, got {args.vf_coef}"),
        (args.ent_coef >= 0 and math.isfinite(args.ent_coef), "--ent-coef", f"must be non-negative, got {args.ent_coef}"),
        (args.ent_coef_spread >= 0 and math.isfinite(args.ent_coef_spread), "--ent-coef-spread",
         f"must be non-negative, got {args.ent_coef_spread}"),
        (args.max_env_steps >= 0, "--max-env-steps", f"must be non-negative, got {args.max_env_steps}"),
        (args.send_timeout > 0, "--send-timeout", f"must be positive, got {args.send_timeout}"),
        (args.seed >= 0, "--seed", f"must be non-negative, got {args.seed}"),
        (bool(args.learner), "--learner", "host must not be empty"),
        ((args.curve_secret_key is None) == (args.learner_public_key is None),
         "--curve-secret-key" if args.learner_public_key is None else "--learner-public-key",
         "needs --learner-public-key" if args.learner_public_key is None else "needs --curve-secret-key"),
    ]
    token_secret = args.evaluator_token if args.evaluator_token is not None else os.environ.get("DDPG_EVALUATOR_TOKEN", "")
    checks.append(((token_secret == "" and args.evaluator_token is None) or 1 <= len(token_secret.encode()) <= wire.TOKEN_BYTES,
                   "--evaluator-token", f"must be 1 to {wire.TOKEN_BYTES} bytes, got {len(token_secret.encode())}"))
    for ok, flag, message in checks:
        if not ok:
            p.error(f"{flag}: {message}")
    token = wire.evaluator_token(token_secret) if token_secret and args.evaluator else wire.NO_TOKEN
    secret = read_key(args.curve_secret_key, "--curve-secret-key") if args.curve_secret_key else None
    public = read_key(args.learner_public_key, "--learner-public-key") if args.learner_public_key else None
    return WorkerConfig(env=args.env, learner=args.learner, transitions_port=args.transitions_port, weights_port=args.weights_port,
                        worker_id=args.worker_id, workers=args.workers, seed=args.seed, envs_per_worker=args.envs_per_worker,
                        vectorization=args.vectorization, evaluator=args.evaluator, noise=args.noise, noise_sigma=args.noise_sigma,
                        noise_spread_alpha=args.noise_spread_alpha, noise_sigmas=args.noise_sigmas, ou_theta=args.ou_theta,
                        ou_dt=args.ou_dt, transitions_per_message=args.transitions_per_message, flush_ms=args.flush_ms,
                        n_step=args.n_step, gamma=args.gamma, rollout_steps=args.rollout_steps, gradients=args.gradients,
                        gae_lambda=args.gae_lambda, vf_coef=args.vf_coef, ent_coef=args.ent_coef, ent_coefs=args.ent_coefs,
                        ent_coef_spread=args.ent_coef_spread,
                        normalize_advantage=args.normalize_advantage,
                        max_env_steps=args.max_env_steps, send_timeout=args.send_timeout, curve_secret_key=secret,
                        learner_public_key=public, evaluator_token=token, stats_file=args.stats_file, parent_pid=args.parent_pid)


def resolve(host: str, timeout: float, stop: StopFlag) -> None:
    """libzmq retries an unresolvable name silently forever; a typo should be an error that names it."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    deadline, next_warning = time.monotonic() + timeout, 0.0
    while True:
        try:
            socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM)
            return
        except socket.gaierror as error:
            temporary = error.errno in (socket.EAI_AGAIN, socket.EAI_NONAME)
            if not temporary or time.monotonic() >= deadline or stop:
                raise SystemExit(f"--learner: cannot resolve '{host}' ({error.strerror})") from None
            if time.monotonic() >= next_warning:
                logging.getLogger("ddpg.gym_worker").warning("cannot resolve learner host '%s' (%s); retrying", host, error.strerror)
                next_warning = time.monotonic() + 5
            time.sleep(0.5)


def checked_environment(env_id: str, build: Callable[[], T]) -> T:
    """`build()`, with gymnasium's errors for a missing or unusable environment turned into one
    line that names it (the environment is made once, by whatever needs it)."""
    import gymnasium as gym

    from .spec import EnvironmentError_

    try:
        return build()
    except EnvironmentError_ as error:
        raise SystemExit(f"--env: {error}") from None
    except (gym.error.Error, ImportError) as error:
        raise SystemExit(f"--env: cannot make '{env_id}': {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    level = {"trace": logging.DEBUG, "notice": logging.INFO}.get(args.log_level, getattr(logging, args.log_level.upper(), logging.INFO))
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import gymnasium  # noqa: F401
    except ImportError:
        raise SystemExit("ddpg-gym-worker needs gymnasium: pip install gymnasium (and gymnasium[mujoco] for the MuJoCo environments)") from None
    if args.describe:
        from .spec import describe

        print(json.dumps(checked_environment(args.env, lambda: describe(args.env))))
        return 0
    config = config_from(args, p)
    stop = StopFlag(config.parent_pid)
    stop.install()
    resolve(config.learner, args.resolve_timeout, stop)
    worker = checked_environment(config.env, lambda: GymWorker(config, stop=stop))
    report = worker.run()
    return 0 if report["stop_reason"] in ("signal", "learner_shutdown", "learner_stopping", "max_env_steps") else 1


if __name__ == "__main__":
    sys.exit(main())
