#!/usr/bin/env bash
# On-policy learning on CartPole-v1, side by side with Stable-Baselines3 in one run on one machine:
#   1. ours: `ddpg train --algorithm a2c --env CartPole-v1` (8 environments, SB3's A2C defaults), per seed;
#   2. ours: `ddpg launch --algorithm a2c` with 2 workers × 4 environments (8 in all) and an evaluator, per seed;
#   3. ours: `ddpg launch --algorithm a3c` with 2 workers × 4 environments sending gradients, per seed;
#   4. SB3 A2C with rl-baselines3-zoo's CartPole-v1 settings (8 environments, entropy 0), one torch thread.
# All evaluate 20 deterministic episodes every 10,000 env steps and 50 at the end. Per seed: the env steps
# and seconds to the first evaluation ≥ 475 (train counts evaluation time, launch evaluates in its own
# process meanwhile, SB3 does not count it), and the final evaluation. Then the medians and the ratios of wall times.
# Then Acrobot-v1 (gymnasium's, threshold −100) with `launch --algorithm a2c` on two Python workers × 8 environments.
# Usage: scripts/bench-onpolicy.sh [--seeds 1,2,3,4,5] [--steps 500000] [--skip-sb3]
# Results: docs/BENCHMARKS.md ("On-policy: A2C on CartPole-v1").
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=1,2,3,4,5 steps=500000 skip_sb3=
while (($#)); do
  case $1 in
    --seeds) seeds=$2; shift ;;
    --steps) steps=$2; shift ;;
    --skip-sb3) skip_sb3=1 ;;
    *) echo "bench-onpolicy.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $steps =~ ^[0-9]+$ ]] && ((steps >= 10000)) || { echo "bench-onpolicy.sh: --steps must be a whole number ≥ 10000, got '$steps'" >&2; exit 2; }

scripts/install-deps.sh >&2
swift build -c release >&2
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model $(grep -m1 '^model[[:space:]]' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')), $(nproc) cores"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One JSON line per run: its first evaluation ≥ 475, its final evaluation, and every evaluation.
row() {
  python3 - "$1/summary.json" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
first = s.get("solved_at")
print(json.dumps({"seed": int(sys.argv[2]), "first_solved": first and {"env_steps": first["env_steps"], "wall_seconds": round(first["wall_seconds"], 3)},
                  "final_mean": round(s["final_eval"]["mean_return"], 1) if s.get("final_eval") else None,
                  "wall_seconds": round(s["wall_seconds"], 2), "evaluations": [round(e["mean_return"], 1) for e in s["eval"]]}))
PY
}
evaluation=(--eval-every 10000 --eval-episodes 20 --final-eval-episodes 50 --log-level warning)

echo "== ours: ddpg train --algorithm a2c --env CartPole-v1, $steps env steps"
for seed in ${seeds//,/ }; do
  .build/release/ddpg train --algorithm a2c --env CartPole-v1 --seed "$seed" --max-env-steps "$steps" "${evaluation[@]}" \
    --run-dir "$out/a2c-$seed" >/dev/null
  row "$out/a2c-$seed" "$seed"
done | tee "$out/ours.jsonl"

# `launch --algorithm $1` on CartPole-v1 with 2 workers × 4 environments, per seed, into $out/$2.jsonl.
launch_cartpole() {
  echo "== ours: ddpg launch --algorithm $1 --env CartPole-v1 --workers 2 --envs-per-worker 4, $steps env steps"
  for seed in ${seeds//,/ }; do
    .build/release/ddpg launch --algorithm "$1" --env CartPole-v1 --workers 2 --envs-per-worker 4 --seed "$seed" --max-env-steps "$steps" \
      "${evaluation[@]}" --console plain --run-dir "$out/launch-$1-$seed" >/dev/null 2>&1
    row "$out/launch-$1-$seed" "$seed"
  done | tee "$out/$2.jsonl"
}
launch_cartpole a2c launch
launch_cartpole a3c launch-a3c

echo "== ours: ddpg launch --algorithm a2c --env Acrobot-v1 (Python workers) --workers 2 --envs-per-worker 8, $steps env steps"
pyvenv=.build/pyvenv
[ -x "$pyvenv/bin/python" ] || python3 -m venv "$pyvenv"
"$pyvenv/bin/pip" install --quiet --disable-pip-version-check ./python >&2
for seed in ${seeds//,/ }; do
  .build/release/ddpg launch --algorithm a2c --env Acrobot-v1 --python "$pyvenv/bin/python" --workers 2 --envs-per-worker 8 --seed "$seed" \
    --max-env-steps "$steps" "${evaluation[@]}" --console plain --run-dir "$out/acrobot-$seed" >/dev/null 2>&1
  row "$out/acrobot-$seed" "$seed"
done | tee "$out/acrobot.jsonl"

if [[ -z $skip_sb3 ]]; then
  venv=.build/peers-venv
  if ! "$venv/bin/python" -c 'import torch, stable_baselines3, gymnasium' 2>/dev/null; then
    echo "bench-onpolicy.sh: setting up $venv (PyTorch, stable-baselines3, gymnasium)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch stable-baselines3 "gymnasium>=1.1" >&2
  fi
  echo "== SB3 A2C (rl-baselines3-zoo's CartPole-v1 settings), one torch thread, $steps env steps"
  (cd scripts/peers && OMP_NUM_THREADS=1 "../../$venv/bin/python" sb3_a2c.py --seeds "$seeds" --max-env-steps "$steps") | tee "$out/sb3.jsonl"
fi

python3 - "$out" <<'PY'
import json, os, statistics, sys
def load(name):
    path = os.path.join(sys.argv[1], name)
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []
def summary(rows, seconds):
    solved = [r["first_solved"] for r in rows if r["first_solved"]]
    times = [s[seconds] for s in solved]
    finals = [r["final_mean"] for r in rows]
    return (f"{len(solved)}/{len(rows)} reached 475; median {statistics.median([s['env_steps'] for s in solved]) if solved else '-'} env steps, "
            f"{statistics.median(times) if times else '-'} s; finals {finals} (all ≥ 475: {all(f is not None and f >= 475 for f in finals)})"), times
sb3_times = summary(load("sb3.jsonl"), "training_seconds")[1] if load("sb3.jsonl") else []
acrobot = load("acrobot.jsonl")
if acrobot:
    solved = [r["first_solved"] for r in acrobot if r["first_solved"]]
    print(f"Acrobot-v1, launch a2c on Python workers: {len(solved)}/{len(acrobot)} reached −100; median "
          f"{statistics.median([s['env_steps'] for s in solved]) if solved else '-'} env steps, "
          f"{statistics.median([s['wall_seconds'] for s in solved]) if solved else '-'} s; finals {[r['final_mean'] for r in acrobot]}")
for name, file in [("ours train a2c: ", "ours.jsonl"), ("ours launch a2c:", "launch.jsonl"), ("ours launch a3c:", "launch-a3c.jsonl"),
                   ("SB3 A2C:        ", "sb3.jsonl")]:
    rows = load(file)
    if not rows:
        continue
    line, times = summary(rows, "training_seconds" if file == "sb3.jsonl" else "wall_seconds")
    print(name, line)
    if file != "sb3.jsonl" and times and sb3_times:
        print(f"    median time to 475 / SB3's: {statistics.median(times) / statistics.median(sb3_times):.3f} (target ≤ 0.1)")
PY
