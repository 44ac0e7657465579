#!/usr/bin/env bash
# On-policy learning on CartPole-v1, side by side with Stable-Baselines3 in one run on one machine:
#   1. ours: `ddpg train --algorithm a2c --env CartPole-v1` (8 environments, SB3's A2C defaults), per seed;
#   2. SB3 A2C with rl-baselines3-zoo's CartPole-v1 settings (8 environments, entropy 0), one torch thread.
# Both evaluate 20 deterministic episodes every 10,000 env steps and 50 at the end. Per seed: the env steps
# and seconds to the first evaluation ≥ 475 (ours count evaluation time, SB3's do not), and the final
# evaluation. Then the medians and the ratio of wall times.
# (`launch --algorithm a2c|a3c` join this table when the distributed on-policy learner exists; issue 26.)
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

echo "== ours: ddpg train --algorithm a2c --env CartPole-v1, $steps env steps"
for seed in ${seeds//,/ }; do
  .build/release/ddpg train --algorithm a2c --env CartPole-v1 --seed "$seed" --max-env-steps "$steps" --eval-every 10000 \
    --eval-episodes 20 --final-eval-episodes 50 --run-dir "$out/a2c-$seed" --log-level warning >/dev/null
  python3 - "$out/a2c-$seed/summary.json" "$seed" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
first = s.get("solved_at")
print(json.dumps({"seed": int(sys.argv[2]), "first_475": first and {"env_steps": first["env_steps"], "wall_seconds": round(first["wall_seconds"], 3)},
                  "final_mean": round(s["final_eval"]["mean_return"], 1), "wall_seconds": round(s["wall_seconds"], 2),
                  "evaluations": [round(e["mean_return"], 1) for e in s["eval"]]}))
PY
done | tee "$out/ours.jsonl"

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
ours, sb3 = load("ours.jsonl"), load("sb3.jsonl")
def summary(rows, seconds):
    solved = [r["first_475"] for r in rows if r["first_475"]]
    times = [s[seconds] for s in solved]
    return (f"{len(solved)}/{len(rows)} reached 475; median {statistics.median([s['env_steps'] for s in solved]) if solved else '-'} env steps, "
            f"{statistics.median(times) if times else '-'} s; finals {[r['final_mean'] for r in rows]} (all ≥ 475: {all(r['final_mean'] >= 475 for r in rows)})"), times
line, ours_times = summary(ours, "wall_seconds")
print("ours a2c:", line)
if sb3:
    line, sb3_times = summary(sb3, "training_seconds")
    print("SB3 a2c: ", line)
    if ours_times and sb3_times:
        print(f"median time to 475, ours / SB3: {statistics.median(ours_times) / statistics.median(sb3_times):.3f} (target ≤ 0.1)")
PY
