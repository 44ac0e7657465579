"""bench-mujoco.sh's table: per task, each configuration's final evaluation return by seed, the median, the median wall
seconds and the learner's updates/s (all updates over the wall time), from the cells that have finished. Cells that have
not run are shown as "–", never estimated."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def runs(cell: Path) -> list[dict]:
    found = []
    for name in ("ours.jsonl", "sb3.jsonl"):
        path = cell / name
        if path.exists():
            found += [r for r in map(json.loads, (line for line in path.read_text().splitlines() if line.startswith("{"))) if r.get("kind") == "run"]
    return found


def main() -> None:
    out = Path(sys.argv[1])
    machines = set()
    for path in out.glob("*/*/machine.json"):
        m = json.loads(path.read_text())
        family = f" (family {m['cpu_family']} model {m['cpu_model']})" if "cpu_model" in m else ""
        machines.add(f"{m['cpu']}{family}, {m['cores']} cores")
    for task_dir in sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []:
        cells: dict[str, dict[int, dict]] = {}
        for cell in sorted(task_dir.iterdir()):
            config, _, seed = cell.name.rpartition("-seed")
            for run in runs(cell):
                cells.setdefault(config, {})[int(seed)] = run
        if not cells:
            continue
        seeds = sorted({s for by_seed in cells.values() for s in by_seed})
        print(f"\n**{task_dir.name}**, final evaluation at {max(r['env_steps'] for c in cells.values() for r in c.values()):,} env steps\n")
        print("| configuration | " + " | ".join(f"seed {s}" for s in seeds) + " | median | wall s (median) | updates/s |")
        print("|---|" + "---:|" * (len(seeds) + 3))
        for config, by_seed in cells.items():
            returns = [by_seed[s]["final_mean_return"] for s in seeds if s in by_seed and by_seed[s]["final_mean_return"] is not None]
            walls = [by_seed[s]["wall_seconds"] for s in seeds if s in by_seed]
            rates = [by_seed[s]["updates"] / by_seed[s]["wall_seconds"] for s in seeds if s in by_seed and by_seed[s].get("updates")]
            row = [f"{by_seed[s]['final_mean_return']:,.1f}" if s in by_seed else "–" for s in seeds]
            print(f"| {config} | " + " | ".join(row) + f" | {statistics.median(returns):,.1f} | {statistics.median(walls):,.0f} | "
                  f"{statistics.median(rates):,.0f} |" if returns else f"| {config} | " + " | ".join(row) + " | – | – | – |")
    print(f"\nmachines: {'; '.join(sorted(machines)) or 'none recorded'}")


if __name__ == "__main__":
    main()
