"""Real processes on loopback, started as users start them: a `ddpg learner` (or `ddpg launch`)
with `ddpg-gym-worker`s on gymnasium's environments, and Swift workers beside them.

The `ddpg` binary is $DDPG_BIN, or the release build of this checkout. Without one these tests are
skipped, unless $DDPG_REQUIRE_PROCESS_TESTS is set (as CI sets it), when they fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
DDPG = Path(os.environ.get("DDPG_BIN", ROOT / ".build" / "release" / "ddpg"))
HERE = Path(__file__).resolve().parent

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

    def __init__(self, arguments: list[str], log: Path, env: Optional[dict] = None) -> None:
        self.log = log
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)

    def text(self) -> str:
        return self.log.read_text()

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.process.args[:3]} did not exit within {timeout} s; its log:\n{self.text()[-3000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def children():  # type: ignore[no-untyped-def]
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


def learner_args(ports: list[int], run: Path, *extra: str) -> list[str]:
    return [str(DDPG), "learner", "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--metrics-port", str(ports[2]),
            "--console", "none", "--run-dir", str(run), "--learning-starts", "500", "--eval-every", "2000", "--eval-episodes", "10",
            "--final-eval-episodes", "10", "--drain-seconds", "3", *extra]


def gym_worker_args(ports: list[int], worker: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ddpg_gym", "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]),
            "--worker-id", str(worker), "--seed", str(worker + 1), *extra]


def status(ports: list[int]) -> Optional[dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[2]}/status", timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


def wait_for_status(ports: list[int], what: str, predicate: Callable[[dict], bool], timeout: float = 60) -> dict:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = status(ports)
        if last is not None and predicate(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last status: {last}")


def summary(run: Path) -> dict[str, Any]:
    return json.loads((run / "summary.json").read_text())


def assert_exact_accounting(s: dict[str, Any]) -> None:
    """What every session said it sent is what the learner received, and nothing was rejected."""
    assert s["transitions_rejected"] == 0
    assert sum(w["transitions_received"] for w in s["workers"]) == s["transitions_received"]
    for w in s["workers"]:
        assert w["finished"], f"worker {w['worker_id']} sent its final status"
        assert w["claimed"]["transitions_sent"] == w["transitions_received"], w


def test_a_python_worker_solves_gymnasiums_pendulum(tmp_path: Path, children: list[Child]) -> None:
    ports, run = free_ports(3), tmp_path / "run"
    learner = Child(learner_args(ports, run, "--env", "Pendulum-v1", "--max-env-steps", "40000", "--until-return", "-200"),
                    tmp_path / "learner.log")
    worker = Child(gym_worker_args(ports, 0, "--stats-file", str(tmp_path / "worker.json")), tmp_path / "worker.log")
    evaluator = Child(gym_worker_args(ports, 1, "--evaluator"), tmp_path / "evaluator.log")
    children += [learner, worker, evaluator]
    assert learner.wait() == 0, learner.text()[-3000:]
    assert worker.wait(30) == 0 and evaluator.wait(30) == 0
    s = summary(run)
    assert s["solved_at"] is not None, f"not solved in 40,000 env steps: evals {[e['mean_return'] for e in s['eval']]}"
    assert s["final_eval"]["mean_return"] >= -200, "the run ends with the actor whose evaluation reached the target"
    assert_exact_accounting(s)
    report = json.loads((tmp_path / "worker.json").read_text())
    assert report["transitions_sent"] == s["transitions_received"] and report["stop_reason"] == "learner_shutdown"
    assert report["weights_applied"] > 1 and report["implementation"] == "python"
    assert "wrong_environment" not in learner.text(), "gymnasium's spec (no reward range) is Pendulum-v1's"


def test_a_mixed_fleet_is_accounted_per_worker(tmp_path: Path, children: list[Child]) -> None:
    ports, run = free_ports(3), tmp_path / "run"
    learner = Child(learner_args(ports, run, "--env", "Pendulum-v1", "--max-env-steps", "8000"), tmp_path / "learner.log")
    swift = Child([str(DDPG), "worker", "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--worker-id", "0",
                   "--workers", "2", "--seed", "1"], tmp_path / "swift.log")
    python = Child(gym_worker_args(ports, 1, "--workers", "2"), tmp_path / "python.log")
    evaluator = Child(gym_worker_args(ports, 2, "--evaluator"), tmp_path / "evaluator.log")
    children += [learner, swift, python, evaluator]
    assert learner.wait() == 0, learner.text()[-3000:]
    assert swift.wait(30) == 0 and python.wait(30) == 0 and evaluator.wait(30) == 0
    s = summary(run)
    assert_exact_accounting(s)
    received = {w["worker_id"]: w["transitions_received"] for w in s["workers"]}
    assert received[0] > 0 and received[1] > 0 and received[2] == 0, received
    assert all(w["latest_weights_version"] > 1 for w in s["workers"] if w["worker_id"] < 2), "both acted with the learner's weights"
    assert s["final_eval"] is not None and s["final_eval"]["episodes"] == 10, "the Python evaluator answered the final request"


def test_a_python_worker_reconnects_to_a_restarted_learner(tmp_path: Path, children: list[Child]) -> None:
    ports, first, second = free_ports(3), tmp_path / "first", tmp_path / "second"
    learner = Child(learner_args(ports, first, "--env", "Pendulum-v1", "--max-env-steps", "100000000"), tmp_path / "first.log")
    worker = Child(gym_worker_args(ports, 0), tmp_path / "worker.log")
    children += [learner, worker]
    wait_for_status(ports, "the first learner training", lambda s: s.get("env_steps", 0) >= 1_500 and s.get("updates", 0) > 0)
    learner.process.send_signal(signal.SIGKILL)
    learner.wait()
    learner = Child(learner_args(ports, second, "--env", "Pendulum-v1", "--max-env-steps", "3000"), tmp_path / "second.log")
    children.append(learner)
    assert learner.wait() == 0, learner.text()[-3000:]
    assert worker.wait(30) == 0, "the worker stops when the new learner does"
    assert "the learner restarted; saying hello again" in worker.text()
    s = summary(second)
    assert s["transitions_rejected"] == 0 or all(r == "no_hello" for r in s["messages_rejected"]), s["messages_rejected"]
    (record,) = s["workers"]
    assert record["transitions_received"] >= 2_500 and record["latest_weights_version"] >= 1, record
    # It joined a learner that had not seen its first life: it claims more than this learner received.
    assert record["claimed"]["transitions_sent"] >= record["transitions_received"] + 1_500


def test_launch_runs_python_workers_for_a_gymnasium_environment(tmp_path: Path, children: list[Child]) -> None:
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    ports = free_ports(3)
    launcher = Child([str(DDPG), "launch", "--env", "gym_envs:PendulumPy-v1", "--python", sys.executable, "--workers", "2",
                      "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--metrics-port", str(ports[2]),
                      "--max-env-steps", "60000", "--eval-every", "2000", "--eval-episodes", "10",
                      "--final-eval-episodes", "10", "--console", "none", "--run-dir", str(run)], tmp_path / "launch.log", env=env)
    children.append(launcher)
    # Crash one Python worker mid-run: the launcher restarts it, and the accounting stays exact.
    wait_for_status(ports, "training", lambda s: s.get("env_steps", 0) >= 3_000)
    victim = subprocess.run(["pgrep", "-f", "ddpg_gym --env gym_envs:PendulumPy-v1 .*--worker-id 0 "], capture_output=True, text=True)
    pids = [int(p) for p in victim.stdout.split()]
    assert len(pids) == 1, f"one worker 0: {victim.stdout!r}"
    os.kill(pids[0], signal.SIGKILL)
    assert launcher.wait(180) == 0, launcher.text()[-3000:]
    log = launcher.text()
    assert "is not a native environment: running it on Python workers" in log
    assert "worker 0 exited (signal 9); restarting it (1 of 3)" in log
    s = summary(run)
    assert s["config"]["environment"] == "PendulumPy-v1" and s["config"]["solved_return"] == -200, "gymnasium's reward_threshold"
    assert max(e["mean_return"] for e in s["eval"]) > -400, "it learned (a random policy scores about -1,200)"
    assert s["transitions_rejected"] == 0
    sessions = [w for w in s["workers"] if w["worker_id"] == 0]
    assert len(sessions) == 2, "the restarted worker is a new session"
    killed = [w for w in sessions if not w["finished"]]
    # Killed within its first second, it may not have sent a status at all: no claim.
    claimed = killed[0].get("claimed", {}).get("transitions_sent", 0) if len(killed) == 1 else None
    assert claimed is not None and claimed <= killed[0]["transitions_received"], \
        "a killed worker's last status may lag what it delivered, never lead it"
    for w in s["workers"]:
        if w["finished"]:
            assert w["claimed"]["transitions_sent"] == w["transitions_received"], w
    assert sum(w["transitions_received"] for w in s["workers"]) == s["transitions_received"]
    assert len(s["worker_reports"]) == 2 and all(r["implementation"] == "python" for r in s["worker_reports"])
    assert s["evaluator_reports"][0]["evaluations"] >= 1


def test_launch_names_what_is_missing(tmp_path: Path) -> None:
    result = subprocess.run([str(DDPG), "launch", "--env", "NoSuchEnv-v0", "--python", sys.executable, "--run-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "--env: cannot make 'NoSuchEnv-v0'" in result.stderr, result.stderr
    result = subprocess.run([str(DDPG), "launch", "--env", "HalfCheetah-v5", "--python", "/usr/bin/python3", "--run-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "has no ddpg_gym package" in result.stderr or "needs gymnasium" in result.stderr, result.stderr
