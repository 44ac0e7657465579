#!/usr/bin/env bash
# Distributed benchmarks on loopback, with the real `ddpg` binary. One JSON object per line:
#   learner ingest from 1, 2, 4 and 8 synthetic senders (training off),
#   weight broadcast latency, publish to applied in a worker, for a [256,256] actor,
#   env steps/s of one worker, actor inference included, with 1 to 256 environments.
# Options: --quick (shorter runs). Results are recorded in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
swift build -c release >&2
.build/release/ddpg-bench --ingest "$@"
.build/release/ddpg-bench --broadcast "$@"
.build/release/ddpg-bench --worker-throughput "$@"
