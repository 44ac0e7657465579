"""Reads what bench-peers.sh collected and prints ddpg's numbers next to its peers', with
ratios, one JSON object per line followed by a readable table."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def json_lines(path: Path) -> dict[str, object]:
    values: dict[str, object] = {}
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            values[record["name"]] = record["value"]
    return values


def solve(run_dir: Path) -> dict[str, float | None]:
    summary = json.loads((run_dir / "summary.json").read_text())
    solved = summary.get("solved_at")
    return {"env_steps": solved and solved["env_steps"], "seconds": solved and solved["wall_seconds"],
            "final_eval": (summary.get("final_eval") or {}).get("mean_return")}  # null: a learner without an evaluator


def emit(name: str, value: object, unit: str = "") -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit}))


def main() -> None:
    out, seeds = Path(sys.argv[1]), [int(s) for s in sys.argv[2].split(",")]
    ours, torch = json_lines(out / "ours.jsonl"), json_lines(out / "torch.jsonl")
    table = [f"kernels: ddpg {ours.get('openblas_core')}, PyTorch {torch.get('torch_version')} "
             f"({torch.get('torch_cpu_capability')}); one thread each", "",
             "update, batch 256 | ddpg | PyTorch | PyTorch fused Adam | ddpg / best PyTorch",
             "---|---:|---:|---:|---:"]
    for shape in ("256x256", "400x300", "64x64"):
        mine = float(ours[f"update_b256_{shape}"])
        plain, fused = float(torch[f"torch_update_b256_{shape}"]), float(torch[f"torch_update_b256_{shape}_fused_adam"])
        ratio = mine / max(plain, fused)
        emit(f"ratio_update_b256_{shape}_vs_torch", round(ratio, 2), "x")
        table.append(f"[{shape.replace('x', ', ')}] | {mine:,.0f} | {plain:,.0f} | {fused:,.0f} | {ratio:.1f}×")

    sb3 = {record["seed"]: record for record in
           (json.loads(line)["value"] for line in (out / "sb3.jsonl").read_text().splitlines() if line.startswith("{"))}
    table += ["", "first solve (eval >= -200), seed | ddpg train | ddpg launch --workers 2 | SB3 DDPG (rl-zoo), training only",
              "---|---:|---:|---:"]
    columns: dict[str, list[float]] = {"train": [], "launch": [], "sb3": []}
    for seed in seeds:
        train, launch, peer = solve(out / f"train-{seed}"), solve(out / f"launch-{seed}"), sb3[seed]
        cells = []
        for label, steps, seconds in (("train", train["env_steps"], train["seconds"]),
                                      ("launch", launch["env_steps"], launch["seconds"]),
                                      ("sb3", peer.get("env_steps"), peer["training_seconds"] if peer["solved"] else None)):
            emit(f"first_solve_{label}_seed{seed}", {"env_steps": steps, "seconds": seconds})
            columns[label].append(seconds if seconds is not None else float("inf"))
            cells.append(f"{seconds:.2f} s, {steps:,} steps" if seconds is not None else "not solved")
        emit(f"final_eval_seed{seed}", {"train": train["final_eval"], "launch": launch["final_eval"]})
        table.append(f"{seed} | " + " | ".join(cells))
    medians = {label: statistics.median(values) for label, values in columns.items()}
    for label in ("train", "launch"):
        ratio = medians["sb3"] / medians[label] if medians[label] > 0 else float("inf")
        emit(f"ratio_first_solve_sb3_over_{label}", round(ratio, 1), "x")
    table.append(f"median | {medians['train']:.2f} s | {medians['launch']:.2f} s | {medians['sb3']:.2f} s")
    table.append(f"SB3 takes {medians['sb3'] / medians['train']:.0f}× as long as ddpg train, "
                 f"{medians['sb3'] / medians['launch']:.0f}× as long as ddpg launch")
    print("\n".join(table))


if __name__ == "__main__":
    main()
