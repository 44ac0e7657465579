#!/usr/bin/env bash
# Cost of monitoring to the learner: updates/s of a real `ddpg learner` training without
# rate limiting, with monitoring off (--console none) and fully on (/metrics and /status
# scraped 10 times a second, plain console, TensorBoard files), in alternating runs.
# One JSON object per line; the last is the overhead in percent. Options: --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
swift build -c release >&2
.build/release/ddpg-bench --monitoring-overhead "$@"
