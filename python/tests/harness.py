"""Starting real processes for the tests: the `ddpg` binary ($DDPG_BIN, or this checkout's release
build), Python workers, and reading what the learner reports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DDPG = Path(os.environ.get("DDPG_BIN", ROOT / ".build" / "release" / "ddpg"))
HERE = Path(__file__).resolve().parent



def require_ddpg() -> None:
    """Skips the calling test module when there is no binary, unless $DDPG_REQUIRE_PROCESS_TESTS (CI) makes that a failure."""
    if not DDPG.exists():
        if os.environ.get("DDPG_REQUIRE_PROCESS_TESTS"):
            raise RuntimeError(f"no ddpg binary at {DDPG}: build it (swift build -c release) or set DDPG_BIN")
        pytest.skip(f"no ddpg binary at {DDPG} (swift build -c release, or set DDPG_BIN)", allow_module_level=True)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Child:
    """A process whose standard error goes to a file, killed at the end of the test if still running."""

    def __init__(self, arguments: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.arguments = arguments
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)

    def text(self) -> str:
        return self.log.read_text()

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.arguments[:3]} did not exit within {timeout} s; its log:\n{self.text()[-3000:]}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


#: What the tests' learners authorize their evaluators by (`ddpg launch` makes one of its own).
EVALUATOR_TOKEN = "python-tests"


def learner_args(ports: list[int], run: Path, *extra: str) -> list[str]:
    return [str(DDPG), "learner", "--evaluator-token", EVALUATOR_TOKEN, "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]),
            "--metrics-port", str(ports[2]),
            "--console", "none", "--run-dir", str(run), "--learning-starts", "500", "--eval-every", "2000", "--eval-episodes", "10",
            "--final-eval-episodes", "10", "--drain-seconds", "3", *extra]


def gym_worker_args(ports: list[int], worker: int, *extra: str) -> list[str]:
    token = ["--evaluator-token", EVALUATOR_TOKEN] if "--evaluator" in extra else []
    return [sys.executable, "-m", "ddpg_gym", "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]),
            "--worker-id", str(worker), "--seed", str(worker + 1), *token, *extra]


def status(ports: list[int]) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[2]}/status", timeout=2) as response:
            document: dict[str, Any] = json.load(response)
            return document
    except OSError:
        return None


def wait_for_status(ports: list[int], what: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = status(ports)
        if last is not None and predicate(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last status: {last}")


def summary(run: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((run / "summary.json").read_text())
    return document


def assert_exact_accounting(s: dict[str, Any]) -> None:
    """What every session said it sent is what the learner received (before the stop, or counted apart after it),
    and nothing was rejected."""
    assert s["transitions_rejected"] == 0
    assert sum(w["transitions_received"] for w in s["workers"]) == s["transitions_received"]
    for w in s["workers"]:
        assert w["finished"], f"worker {w['worker_id']} sent its final status"
        assert w["claimed"]["transitions_sent"] == w["transitions_received"] + w["transitions_after_stop"], w


def launch_briefly(run: Path, environment: str = "Pendulum-v1", *flags: str) -> None:
    """A short `ddpg launch` (one worker, 3,000 env steps) to its end, for a run directory with a checkpoint in it."""
    ports = free_ports(3)
    result = subprocess.run([str(DDPG), "launch", "--env", environment, "--workers", "1", "--max-env-steps", "3000",
                             "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--metrics-port", str(ports[2]),
                             "--final-eval-episodes", "1", "--console", "none", "--log-level", "warning", "--run-dir", str(run), *flags],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]

