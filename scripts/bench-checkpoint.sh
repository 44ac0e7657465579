#!/usr/bin/env bash
# What checkpoints cost a [256,256] learner without replay: the copy that stalls training,
# the encode+write+fsync on the background thread, and the stall histogram of a real
# `ddpg learner` checkpointing every second. One JSON object per line. Options: --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
swift build -c release >&2
.build/release/ddpg-bench --checkpoint-stall "$@"
