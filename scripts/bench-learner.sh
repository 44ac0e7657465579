#!/usr/bin/env bash
# Learner benchmarks, single-threaded. Prints one JSON object per line:
#   {"name": ..., "value": ..., "unit": ...}
# including the OpenBLAS kernels in use, and each update rate's fraction of the
# sgemm bound (its flops at sgemm's rate, measured just before and after).
# Options: --quick (shorter timings). Results are recorded in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
swift build -c release >&2
.build/release/ddpg-bench "$@"

run_dir=$(mktemp -d)
trap 'rm -rf "$run_dir"' EXIT
peak_rss() { sed -n 's/.*peak RSS \([0-9]*\) MB.*/\1/p' "$1" | tail -1; }

# Peak resident memory of `ddpg train` with a one-million-transition replay
# buffer, filled to capacity (a million env steps, no updates).
.build/release/ddpg train --seed 1 --replay-capacity 1000000 --max-env-steps 1000000 --updates-per-step 0 \
  --eval-every 250000 --run-dir "$run_dir/full" 2>"$run_dir/full.log" >/dev/null
echo "{\"name\": \"train_peak_rss_replay_1M_full\", \"value\": $(peak_rss "$run_dir/full.log"), \"unit\": \"MB\"}"

# A default training run (capacity 1M, 20k steps): peak memory and time to solve.
.build/release/ddpg train --seed 1 --max-env-steps 20000 --run-dir "$run_dir/default" 2>"$run_dir/default.log" >/dev/null
echo "{\"name\": \"train_default_peak_rss\", \"value\": $(peak_rss "$run_dir/default.log"), \"unit\": \"MB\"}"
python3 - "$run_dir/default/summary.json" <<'PY'
import json, sys
solved = json.load(open(sys.argv[1]))["solved_at"]
print(json.dumps({"name": "train_seed1_solved_at", "value": solved and round(solved["wall_seconds"], 3), "unit": "s"}))
PY

# Optional: skips itself, saying why, where it cannot run.
scripts/check-allocations.sh
