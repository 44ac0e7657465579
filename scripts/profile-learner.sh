#!/usr/bin/env bash
# Samples the learner process of a `ddpg launch` with perf (call graphs, all its threads) for a few seconds
# once it has started, then prints where its time went, ours and the kernel's:
#
#   scripts/profile-learner.sh [--seconds N] [--delay S] [--out DIR] -- LAUNCH-ARGUMENTS...
#   scripts/profile-learner.sh -- --algorithm a2c --env CartPole-v1 --workers 2 --envs-per-worker 4 \
#       --evaluators 0 --max-env-steps 400000
#
# The launch should outlast --delay + --seconds (defaults 1 and 3). Needs perf and the release build;
# perf.data and the full report stay in DIR (default .build/profile-learner).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=3 delay=1 out=.build/profile-learner
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "profile-learner.sh: unknown option '$1' (--seconds, --delay, --out, then -- and the launch's arguments)" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "profile-learner.sh: give the launch's arguments after --" >&2; exit 2; }
command -v perf >/dev/null || { echo "profile-learner.sh: perf is not installed (Debian: linux-perf)" >&2; exit 2; }
[[ -x .build/release/ddpg ]] || { echo "profile-learner.sh: build first: swift build -c release" >&2; exit 2; }
mkdir -p "$out"

.build/release/ddpg launch "$@" --console none --log-level warning --run-dir "$out/run" >/dev/null 2>&1 &
launch=$!
trap 'kill $launch 2>/dev/null || true' EXIT
sleep "$delay"
learner=$(pgrep -P "$launch" -f "ddpg learner" | head -1 || true)
[[ -n $learner ]] || { echo "profile-learner.sh: no learner under launch $launch after $delay s (did the launch fail? see $out/run)" >&2; exit 1; }
perf record -g -F 4999 -p "$learner" -o "$out/perf.data" -- sleep "$seconds" 2>/dev/null
wait "$launch" || true
trap - EXIT
perf report -i "$out/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' > "$out/report.txt" || true
echo "profile-learner.sh: learner $learner sampled for $seconds s; the 40 heaviest frames (children included), of $out/report.txt:"
head -40 "$out/report.txt" | cut -c1-160
if [[ -f $out/run/summary.json ]]; then
  python3 - "$out/run/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
updates = max(s["updates"], 1)
print(f"run: {s['env_steps']} env steps, {s['updates']} updates in {s['wall_seconds']:.2f} s ({1e3 * s['wall_seconds'] / updates:.3f} ms an update, sampled part included)")
PY
fi
