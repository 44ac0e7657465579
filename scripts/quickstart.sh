#!/usr/bin/env bash
# Sets up a fresh Debian machine and trains DDPG on Pendulum-v1 with a learner
# and two worker processes on this machine. Extra arguments go to `ddpg launch`
# (see `.build/release/ddpg launch --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product ddpg
exec .build/release/ddpg launch --workers 2 --seed 1 --run-dir runs/quickstart "$@"
