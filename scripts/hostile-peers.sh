#!/usr/bin/env bash
# Runs a real learner and worker against hostile peers (ddpg-hostile) and prints
# one line per check, then a summary; exits 1 if any check failed:
#   overflow values and random bit flips, finite poison, subscription floods,
#   near-maximum frames from more connections than --max-peers, slowloris on the
#   metrics port, a peer that tries to hold the shutdown drain open; then, against an
#   A3C learner, forged gradients (NaN, 1e30, the wrong shape, stale, replayed).
# Options: --quick (shorter attacks); --only NAME (one attack, e.g. session-churn; --only no-attack measures how far
# the measurement of the real worker's rate moves with no attack). Results are recorded in docs/SECURITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
swift build -c release --product ddpg >&2
swift build -c release --product ddpg-hostile >&2
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
.build/release/ddpg-hostile "$@"
