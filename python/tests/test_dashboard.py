"""The learner's live page (`GET /` on --metrics-port) in a real browser: headless Chromium against a running
`ddpg launch`. The charts must have drawn, the numbers must move between two loads, and a screenshot is kept in
.build/test-artifacts/dashboard.png."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from harness import DDPG, HERE, Child, free_ports, require_ddpg, wait_for_status

require_ddpg()

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("DDPG_REQUIRE_PROCESS_TESTS"):
        raise RuntimeError("no chromium on PATH: scripts/install-deps.sh installs Debian's package")
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

ARTIFACTS = HERE.parent.parent / ".build" / "test-artifacts"


def chromium(url: str, profile: Path, *mode: str) -> str:
    """Loads `url` in a fresh headless Chromium, lets its script run 4 s of (virtual) time, and returns what it printed."""
    result = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             f"--user-data-dir={profile}", "--window-size=1400,1300", "--virtual-time-budget=4000", *mode, url],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def element(dom: str, tag: str, id_: str) -> str:
    match = re.search(rf'<{tag}\b[^>]*\bid="{id_}"[^>]*>(.*?)</{tag}>', dom, re.S)
    assert match, f"no <{tag} id={id_}> in the page"
    return match.group(0)


def figure(dom: str, id_: str) -> float:
    text = re.sub(r"<[^>]+>", "", element(dom, "b", id_))
    return float(text.replace(",", ""))


def test_the_live_page_draws_a_running_learner(tmp_path: Path, children: list[Child]) -> None:
    ports, run = free_ports(3), tmp_path / "run"
    launcher = Child([str(DDPG), "launch", "--env", "Pendulum-v1", "--workers", "2", "--transitions-port", str(ports[0]),
                      "--weights-port", str(ports[1]), "--metrics-port", str(ports[2]), "--max-env-steps", "5000000", "--eval-every", "2000",
                      "--eval-episodes", "5", "--console", "none", "--run-dir", str(run)], tmp_path / "launch.log")
    children.append(launcher)
    wait_for_status(ports, "two evaluations", lambda s: (s.get("latest_evaluation") or {}).get("env_steps", 0) >= 4_000, timeout=90)
    url = f"http://127.0.0.1:{ports[2]}/"
    with urllib.request.urlopen(url, timeout=5) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
    assert "<script" in page and not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page), "self-contained: nothing from elsewhere"
    with urllib.request.urlopen(f"{url}evaluations", timeout=5) as response:
        evaluations = json.load(response)
    assert len(evaluations) >= 2 and {"env_steps", "wall_seconds", "mean_return", "std_return"} <= set(evaluations[0])

    first = chromium(url, tmp_path / "profile-1", "--dump-dom")
    time.sleep(2)
    second = chromium(url, tmp_path / "profile-2", "--dump-dom")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    chromium(url, tmp_path / "profile-3", f"--screenshot={screenshot}")

    for dom in (first, second):
        assert int(re.search(r'<body[^>]*data-refreshes="(\d+)"', dom).group(1)) >= 1, "the script fetched /status and drew"  # type: ignore[union-attr]
        assert "Pendulum-v1" in element(dom, "span", "environment")
        by_steps = element(dom, "svg", "returns-by-steps")
        assert int(re.search(r'data-points="(\d+)"', by_steps).group(1)) >= 2  # type: ignore[union-attr]
        assert 'class="series"' in by_steps and 'class="level"' in by_steps, "the return curve and Pendulum's solved line"
        for chart in ("returns-by-seconds", "throughput", "policy-lag"):
            svg = element(dom, "svg", chart)
            assert int(re.search(r'data-points="(\d+)"', svg).group(1)) >= 1 and 'class="series"' in svg, chart  # type: ignore[union-attr]
        workers = element(dom, "table", "workers")
        assert workers.count('data-role="actor"') == 2 and workers.count('data-role="evaluator"') == 1
        assert "<td" in element(dom, "table", "rejections"), "a row per reason, or one saying none"
        assert figure(dom, "transitions-per-second") > 0 and figure(dom, "updates-per-second") > 0
    assert figure(second, "env-steps") > figure(first, "env-steps"), "the numbers moved between the two loads"
    assert figure(second, "updates") > figure(first, "updates")
    assert figure(second, "uptime") > figure(first, "uptime")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000, "a screenshot of the drawn page"
