"""docs/PROTOCOL.md's Python worker, exactly as the page prints it, against a real learner: the
page's example cannot rot without this failing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from harness import ROOT, Child, free_ports, learner_args, require_ddpg, summary

require_ddpg()


def page_example() -> str:
    page = (ROOT / "docs" / "PROTOCOL.md").read_text()
    section = page[page.index("## Workers in Python"):]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "PROTOCOL.md has a Python example in 'Workers in Python'"
    return str(blocks[0])


@pytest.mark.parametrize("algorithm", ["ddpg", "sac"])  # a deterministic actor, and a stochastic one it samples
def test_the_pages_example_feeds_a_learner(tmp_path: Path, children: list[Child], algorithm: str) -> None:
    ports, run = free_ports(3), tmp_path / "run"
    code = page_example()
    assert "tcp://127.0.0.1:5555" in code and "tcp://127.0.0.1:5556" in code
    script = tmp_path / "example.py"
    script.write_text(code.replace(":5555", f":{ports[0]}").replace(":5556", f":{ports[1]}"))
    learner = Child(learner_args(ports, run, "--env", "Pendulum-v1", "--algorithm", algorithm, "--max-env-steps", "4000"), tmp_path / "learner.log")
    worker = Child([sys.executable, str(script)], tmp_path / "example.log")
    children += [learner, worker]
    assert learner.wait() == 0, learner.text()[-3000:]
    assert worker.wait(30) == 0, worker.text()[-3000:]
    s = summary(run)
    (record,) = s["workers"]
    assert record["worker_id"] == 7 and record["finished"]
    assert s["transitions_rejected"] == 0 and not s["messages_rejected"], s["messages_rejected"]
    assert record["claimed"]["transitions_sent"] == record["transitions_received"] + record["transitions_after_stop"]
    assert record["transitions_received"] >= 4_000
    # The learner's `messages` counts transitions messages; the example also sent one hello and its final status.
    assert record["claimed"]["messages_sent"] == record["messages"] + 2
    assert record["latest_weights_version"] > 1, "it acted with the learner's weights"
