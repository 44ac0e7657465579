#!/usr/bin/env bash
# Learner benchmarks, single-threaded. Prints one JSON object per line:
#   {"name": ..., "value": ..., "unit": ...}
# Options: --quick (shorter timings). Results are recorded in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
swift build -c release >&2
.build/release/ddpg-bench "$@"

# Peak resident memory of a real training run with a one-million-transition replay buffer.
run_dir=$(mktemp -d)
trap 'rm -rf "$run_dir"' EXIT
.build/release/ddpg train --seed 1 --replay-capacity 1000000 --max-env-steps 20000 --run-dir "$run_dir" 2>"$run_dir/log" >/dev/null
rss=$(sed -n 's/.*peak RSS \([0-9]*\) MB.*/\1/p' "$run_dir/log" | tail -1)
echo "{\"name\": \"train_peak_rss_replay_1M\", \"value\": $rss, \"unit\": \"MB\"}"
solved=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s=d['solved_at']; print(s['wall_seconds'] if s else 'null')" "$run_dir/summary.json" 2>/dev/null || echo null)
echo "{\"name\": \"train_seed1_solved_at\", \"value\": $solved, \"unit\": \"s\"}"
