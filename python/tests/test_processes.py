"""Real processes on loopback, started as users start them: a `ddpg learner` (or `ddpg launch`)
with `ddpg-gym-worker`s on gymnasium's environments, and Swift workers beside them.

The `ddpg` binary is $DDPG_BIN, or the release build of this checkout. Without one these tests are
skipped, unless $DDPG_REQUIRE_PROCESS_TESTS is set (as CI sets it), when they fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness import (
    DDPG,
    EVALUATOR_TOKEN,
    HERE,
    Child,
    assert_exact_accounting,
    free_ports,
    gym_worker_args,
    learner_args,
    require_ddpg,
    summary,
    wait_for_status,
)

require_ddpg()


# Acting at random scores about −1,200 to −1,400; a working swing-up, −200 or better. −250, not −200: in 2 runs of 36
# DDPG settled at −227 (the build before 9371d91) and −201 (after it) and stayed there for 36,000 env steps, a local
# optimum of the algorithm, not of the worker. A broken data path (observations swapped for next observations, say:
# −1,400 to −1,700) never comes near −250.
LEARNED_RETURN = -250


def test_a_python_worker_learns_gymnasiums_pendulum(tmp_path: Path, children: list[Child]) -> None:
    ports, run = free_ports(3), tmp_path / "run"
    learner = Child(learner_args(ports, run, "--env", "Pendulum-v1", "--max-env-steps", "40000", "--until-return", str(LEARNED_RETURN)),
                    tmp_path / "learner.log")
    worker = Child(gym_worker_args(ports, 0, "--stats-file", str(tmp_path / "worker.json")), tmp_path / "worker.log")
    evaluator = Child(gym_worker_args(ports, 1, "--evaluator"), tmp_path / "evaluator.log")
    children += [learner, worker, evaluator]
    assert learner.wait() == 0, learner.text()[-3000:]
    assert worker.wait(30) == 0 and evaluator.wait(30) == 0
    s = summary(run)
    returns = [e["mean_return"] for e in s["eval"]]
    assert s["stop_reason"] == "until_return", f"no evaluation reached {LEARNED_RETURN} in 40,000 env steps: {returns}"
    assert s["final_eval"]["mean_return"] >= LEARNED_RETURN, "the run ends with the actor whose evaluation reached the target"
    assert_exact_accounting(s)
    report = json.loads((tmp_path / "worker.json").read_text())
    assert report["transitions_sent"] == s["transitions_received"] + s["transitions_after_stop"]
    assert report["stop_reason"] == "learner_stopping", "an actor stops at the final evaluation's request"
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
            assert w["claimed"]["transitions_sent"] == w["transitions_received"] + w["transitions_after_stop"], w
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


def test_curve_lets_in_only_authorized_python_workers(tmp_path: Path, children: list[Child]) -> None:
    keys = tmp_path / "keys"
    for out, name in ((keys, "learner"), (keys / "authorized", "worker"), (keys / "other", "intruder")):
        subprocess.run([str(DDPG), "keys", "generate", "--out", str(out), "--name", name], check=True, capture_output=True)
    ports, run = free_ports(3), tmp_path / "run"
    learner = Child(learner_args(ports, run, "--env", "Pendulum-v1", "--max-env-steps", "3000", "--curve-secret-key",
                                 str(keys / "learner.key"), "--authorized-keys", str(keys / "authorized")), tmp_path / "learner.log")
    intruder = Child(gym_worker_args(ports, 5, "--curve-secret-key", str(keys / "other" / "intruder.key"), "--learner-public-key",
                                     str(keys / "learner.pub"), "--stats-file", str(tmp_path / "intruder.json")), tmp_path / "intruder.log")
    worker = Child(gym_worker_args(ports, 0, "--curve-secret-key", str(keys / "authorized" / "worker.key"), "--learner-public-key",
                                   str(keys / "learner.pub")), tmp_path / "worker.log")
    children += [learner, intruder, worker]
    assert learner.wait() == 0, learner.text()[-3000:]
    assert worker.wait(30) == 0
    s = summary(run)
    assert [w["worker_id"] for w in s["workers"]] == [0], "only the authorized key's worker got in"
    assert_exact_accounting(s)
    # The intruder never reached the learner: it stops on SIGTERM, having delivered nothing, without hanging on a send.
    intruder.process.send_signal(signal.SIGTERM)
    assert intruder.wait(15) == 0
    report = json.loads((tmp_path / "intruder.json").read_text())
    assert report["transitions_sent"] == 0 and report["stop_reason"] == "signal" and report["weights_applied"] == 0
    intruder_public = (keys / "other" / "intruder.pub").read_text().split()[-1]
    assert f"worker key {intruder_public} is not in --authorized-keys" in learner.text(), "the refusal names the key"


def test_a_worker_without_a_learner_stops_promptly_on_sigterm(tmp_path: Path, children: list[Child]) -> None:
    ports = free_ports(3)
    worker = Child(gym_worker_args(ports, 0, "--send-timeout", "1", "--stats-file", str(tmp_path / "worker.json")), tmp_path / "worker.log")
    children.append(worker)
    time.sleep(2.5)
    worker.process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    assert worker.wait(10) == 0
    assert time.monotonic() - began < 5, "the 3 s goodbye deadline bounds the exit"
    assert "no learner has accepted data for 1 s" in worker.text(), "it warns instead of hanging in a send"
    report = json.loads((tmp_path / "worker.json").read_text())
    assert report["transitions_sent"] == 0 and report["stop_reason"] == "signal"


def test_n_step_workers_in_both_languages_feed_a_learner_of_the_same_n(tmp_path: Path, children: list[Child]) -> None:
    ports, run = free_ports(3), tmp_path / "run"
    n_step = ["--n-step", "3", "--gamma", "0.98"]
    learner = Child(learner_args(ports, run, "--env", "Pendulum-v1", "--max-env-steps", "12000", *n_step), tmp_path / "learner.log")
    swift = Child([str(DDPG), "worker", "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--worker-id", "0",
                   "--workers", "2", *n_step], tmp_path / "swift.log")
    python = Child(gym_worker_args(ports, 1, "--workers", "2", *n_step), tmp_path / "python.log")
    children += [learner, swift, python]
    assert learner.wait() == 0, learner.text()[-3000:]
    assert swift.wait(30) == 0 and python.wait(30) == 0
    s = summary(run)
    assert_exact_accounting(s)
    assert sum(s["messages_rejected"].values()) == 0, s["messages_rejected"]
    # Past one 200-step episode each, so both adders flushed at a truncation (Python starts a second or so later).
    assert all(w["transitions_received"] > 200 for w in s["workers"]), s["workers"]


def test_a_worker_of_another_n_is_refused_by_name(tmp_path: Path, children: list[Child]) -> None:
    ports, run = free_ports(3), tmp_path / "run"
    learner = Child(learner_args(ports, run, "--env", "Pendulum-v1", "--max-env-steps", "100000", "--n-step", "3"), tmp_path / "learner.log")
    # Its 4-step rows carry γ⁴, which no 3-step return has (a shorter n would be accepted: each row brings its own discount).
    worker = Child(gym_worker_args(ports, 0, "--n-step", "4"), tmp_path / "worker.log")
    children += [learner, worker]
    wait_for_status(ports, "rejections", lambda s: s.get("messages_rejected_by_reason", {}).get("out_of_range", 0) > 0)
    learner.process.send_signal(signal.SIGTERM)
    assert learner.wait(60) == 0
    text = learner.text()
    assert "discount" in text and "--n-step" in text, text[-2000:]


def test_a2c_takes_segments_from_python_and_swift_workers_alike(tmp_path: Path, children: list[Child]) -> None:
    """`--algorithm a2c` on CartPole-v1 (native, so the learner has its own spec): a Python worker on gymnasium's CartPole and
    a Swift worker send segments of the current weights, and a Python evaluator plays the categorical policy's choices."""
    ports, run = free_ports(3), tmp_path / "run"
    learner = Child([str(DDPG), "learner", "--algorithm", "a2c", "--env", "CartPole-v1", "--evaluator-token", EVALUATOR_TOKEN,
                     "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--metrics-port", str(ports[2]),
                     "--console", "none", "--run-dir", str(run), "--max-env-steps", "30000", "--eval-every", "5000", "--eval-episodes", "10",
                     "--final-eval-episodes", "10", "--drain-seconds", "3"], tmp_path / "learner.log")
    swift = Child([str(DDPG), "worker", "--env", "CartPole-v1", "--rollout-steps", "5", "--envs-per-worker", "4",
                   "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--worker-id", "0", "--workers", "2"],
                  tmp_path / "swift.log")
    python = Child(gym_worker_args(ports, 1, "--env", "CartPole-v1", "--rollout-steps", "5", "--envs-per-worker", "4", "--workers", "2",
                                   "--stats-file", str(tmp_path / "python.json")), tmp_path / "python.log")
    evaluator = Child(gym_worker_args(ports, 2, "--env", "CartPole-v1", "--evaluator"), tmp_path / "evaluator.log")
    children += [learner, swift, python, evaluator]
    assert learner.wait(120) == 0, learner.text()[-3000:]
    assert swift.wait(30) == 0 and python.wait(30) == 0 and evaluator.wait(30) == 0
    s = summary(run)
    assert "wrong_environment" not in learner.text(), "gymnasium's CartPole-v1 (float32-max velocity bounds) is the native spec"
    assert sum(s["messages_rejected"].values()) == 0, s["messages_rejected"]
    assert_exact_accounting(s)
    received = {w["worker_id"]: w["transitions_received"] for w in s["workers"]}
    assert received[0] > 5_000 and received[1] > 5_000 and received[2] == 0, received
    # Learned, not solved: an untrained policy scores about 20, and rounds race, so runs differ.
    best = max(e["mean_return"] for e in s["eval"])
    assert best >= 150, [e["mean_return"] for e in s["eval"]]
    assert s["final_eval"] is not None and s["final_eval"]["episodes"] == 10, "the Python evaluator played the final evaluation"
    report = json.loads((tmp_path / "python.json").read_text())
    assert report["weights_applied"] > 100, "one new version per round: the worker waits for the weights its segment trained"


def test_a3c_applies_gradients_from_python_and_swift_workers_alike(tmp_path: Path, children: list[Child]) -> None:
    """`--algorithm a3c` on CartPole-v1: a Swift worker and a Python worker (numpy backprop) each compute the actor–critic
    gradient of their own segments with their own entropy weight, and the learner applies both on arrival. The Swift worker
    stops at half the run's steps, so that the Python worker's gradients are half of what the learner learns from."""
    ports, run = free_ports(3), tmp_path / "run"
    learner = Child([str(DDPG), "learner", "--algorithm", "a3c", "--env", "CartPole-v1", "--evaluator-token", EVALUATOR_TOKEN,
                     "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--metrics-port", str(ports[2]),
                     "--console", "none", "--run-dir", str(run), "--max-env-steps", "30000", "--eval-every", "5000", "--eval-episodes", "10",
                     "--final-eval-episodes", "10", "--drain-seconds", "3"], tmp_path / "learner.log")
    swift = Child([str(DDPG), "worker", "--env", "CartPole-v1", "--rollout-steps", "5", "--gradients", "--envs-per-worker", "4",
                   "--max-env-steps", "15000",
                   "--transitions-port", str(ports[0]), "--weights-port", str(ports[1]), "--worker-id", "0", "--workers", "2",
                   "--ent-coefs", "0,0.01"], tmp_path / "swift.log")
    python = Child(gym_worker_args(ports, 1, "--env", "CartPole-v1", "--rollout-steps", "5", "--gradients", "--envs-per-worker", "4",
                                   "--workers", "2", "--ent-coefs", "0,0.01", "--stats-file", str(tmp_path / "python.json")),
                   tmp_path / "python.log")
    evaluator = Child(gym_worker_args(ports, 2, "--env", "CartPole-v1", "--evaluator"), tmp_path / "evaluator.log")
    children += [learner, swift, python, evaluator]
    assert learner.wait(120) == 0, learner.text()[-3000:]
    assert swift.wait(30) == 0 and python.wait(30) == 0 and evaluator.wait(30) == 0
    assert "entropy coefficient 0.01" in python.text(), "worker 1 of the list 0,0.01 explores with 0.01"
    s = summary(run)
    # Stale gradients are a2c's late segments: possible when one worker outpaces the other, never an error.
    assert set(s["messages_rejected"]) <= {"stale_gradient"}, s["messages_rejected"]
    received = {w["worker_id"]: w["transitions_received"] for w in s["workers"]}
    assert 14_000 <= received[0] <= 15_000 and received[1] >= 14_000 and received[2] == 0, received
    assert s["on_policy"]["segments_accepted"] * 20 == s["transitions_received"], "every accepted gradient (of 4 × 5 steps) was applied"
    best = max(e["mean_return"] for e in s["eval"])
    assert best >= 150, [e["mean_return"] for e in s["eval"]]
    assert s["final_eval"] is not None and s["final_eval"]["episodes"] == 10
