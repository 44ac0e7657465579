"""bench-gym.sh's table: per implementation and seed, the final eval return at the last env step and
the wall seconds, then our returns and times against SB3's (medians over the seeds each ran)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")] if path.exists() else []


def main() -> None:
    out = Path(sys.argv[1])
    machine = json.loads((out / "machine.json").read_text())
    runs = [r for r in rows(out / "ours.jsonl") + rows(out / "sb3.jsonl") if r.get("kind") == "run"]
    print(f"\n{machine['cpu']}, {machine['cores']} cores, sgemm 256³ {machine.get('value', '?')} GFLOP/s")
    print(f"{'implementation':<10} {'seed':>4} {'env steps':>10} {'final eval':>11} {'wall s':>8} {'updates':>8}")
    for r in runs:
        final = r["final_mean_return"]
        print(f"{r['impl']:<10} {r['seed']:>4} {r['env_steps']:>10} {final if final is None else round(final, 1):>11} "
              f"{r['wall_seconds']:>8.1f} {r.get('updates', ''):>8}")
    ours = [r for r in runs if r["impl"] == "ddpg"]
    if not ours:
        return
    ours_return = statistics.median(r["final_mean_return"] for r in ours)
    ours_wall = statistics.median(r["wall_seconds"] for r in ours)
    print(f"\nddpg: median final eval {ours_return:.1f}, median wall {ours_wall:.1f} s over seeds {[r['seed'] for r in ours]}")
    for impl in ("sb3-ddpg", "sb3-td3"):
        theirs = [r for r in runs if r["impl"] == impl]
        if not theirs:
            continue
        their_return = statistics.median(r["final_mean_return"] for r in theirs)
        their_wall = statistics.median(r["wall_seconds"] for r in theirs)
        print(f"{impl}: median final eval {their_return:.1f}, median wall {their_wall:.1f} s over seeds {[r['seed'] for r in theirs]}; "
              f"ddpg's return − theirs {ours_return - their_return:+.1f}, wall time ratio {ours_wall / their_wall:.2f} "
              f"(target: return ≥ SB3 DDPG's, wall ≤ 0.33)")
    for r in rows(out / "worker.jsonl"):
        print(json.dumps(r))


if __name__ == "__main__":
    main()
