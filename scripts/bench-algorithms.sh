#!/usr/bin/env bash
# DDPG, TD3, TD3 + prioritized replay, TD3 + PER + n-step returns, SAC and CrossQ, side by side, per seed.
#
#   Pendulum-v1 and MountainCarContinuous-v0: `ddpg train` (one process, reproducible) with each
#   environment's documented settings; HalfCheetah-v5 (or any gymnasium id): `ddpg launch` with
#   Python workers through scripts/bench-gym.sh.
#
# Usage: scripts/bench-algorithms.sh [--env ID] [--seeds 1,2,3] [--steps N] [--configs LIST] [--args "FLAGS"] [--out DIR]
#   --configs: comma-separated names from: ddpg, td3, td3-per, td3-per-nstep, sac, crossq (default: all six)
#   --args: flags added to every run (e.g. "--reward-scale 0.3333")
# Prints one JSON line per run and a markdown table (median over seeds) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

env_id=Pendulum-v1 seeds=1,2,3 steps= configs=ddpg,td3,td3-per,td3-per-nstep,sac,crossq out= common_args=
while (($#)); do
  case $1 in
    --env) env_id=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --steps) steps=$2; shift ;;
    --configs) configs=$2; shift ;;
    --args) common_args=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "bench-algorithms.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
out=${out:-$(mktemp -d)}
mkdir -p "$out"

flags_of() {
  case $1 in
    ddpg) echo "" ;;
    td3) echo "--algorithm td3" ;;
    td3-per) echo "--algorithm td3 --prioritized-replay" ;;
    td3-per-nstep) echo "--algorithm td3 --prioritized-replay --n-step 3" ;;
    sac) echo "--algorithm sac" ;;
    crossq) echo "--algorithm crossq" ;;
    *) echo "bench-algorithms.sh: unknown config $1" >&2; exit 2 ;;
  esac
}

swift build -c release --product ddpg >&2
swift build -c release --product ddpg-bench >&2
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
sgemm=$(.build/release/ddpg-bench --only sgemm --quick 2>/dev/null | grep -m1 sgemm_256 | sed 's/.*"value": *\([0-9.]*\).*/\1/')
echo "bench-algorithms.sh: $env_id, seeds $seeds, on $cpu (sgemm 256³ $sgemm GFLOP/s)${common_args:+, every run with $common_args}; results in $out" >&2

case $env_id in
  Pendulum-v1) native=(--max-env-steps "${steps:-20000}") ;;
  MountainCarContinuous-v0) native=(--noise ou --noise-sigma 1.0 --max-env-steps "${steps:-50000}" --eval-every 5000) ;;
  *) native=() ;;
esac

for config in ${configs//,/ }; do
  extra="$(flags_of "$config") $common_args"
  if ((${#native[@]})); then
    for seed in ${seeds//,/ }; do
      run="$out/$config-$seed"
      # shellcheck disable=SC2086
      .build/release/ddpg train --env "$env_id" --seed "$seed" "${native[@]}" $extra --run-dir "$run" --log-level warning >&2
      python3 - "$run/summary.json" "$config" "$seed" <<'PY' | tee -a "$out/runs.jsonl"
import json, sys
s = json.load(open(sys.argv[1]))
solved = s.get("solved_at") or {}
print(json.dumps({"config": sys.argv[2], "seed": int(sys.argv[3]), "solved_at_env_steps": solved.get("env_steps"),
                  "solved_at_seconds": solved.get("wall_seconds"), "final_eval": s["final_eval"]["mean_return"],
                  "wall_seconds": s["wall_seconds"], "updates": s["updates"]}))
PY
    done
  else
    scripts/bench-gym.sh "$env_id" "${steps:-100000}" --seeds "$seeds" --skip-sb3 --skip-worker --ddpg-args "$extra" --out "$out/$config" >&2
    python3 - "$out/$config/ours.jsonl" "$config" <<'PY' | tee -a "$out/runs.jsonl"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "run":
        print(json.dumps({"config": sys.argv[2], "seed": r["seed"], "final_eval": r["final_mean_return"], "wall_seconds": r["wall_seconds"],
                          "updates": r["updates"]}))
PY
  fi
done

python3 - "$out/runs.jsonl" "$env_id" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print(f"\n{sys.argv[2]}: median over seeds (each seed's value in brackets)\n")
print("| config | final eval | solved at (env steps) | wall s |")
print("|---|---:|---:|---:|")
for config in dict.fromkeys(r["config"] for r in runs):
    rs = [r for r in runs if r["config"] == config]
    def cell(key, fmt):
        values = [r.get(key) for r in rs]
        known = [v for v in values if v is not None]
        median = fmt(statistics.median(known)) if known else "–"
        return f"{median} ({' / '.join(fmt(v) if v is not None else 'never' for v in values)})"
    print(f"| {config} | {cell('final_eval', lambda v: f'{v:,.1f}')} | {cell('solved_at_env_steps', lambda v: f'{int(v):,}')} "
          f"| {cell('wall_seconds', lambda v: f'{v:.1f}')} |")
PY
