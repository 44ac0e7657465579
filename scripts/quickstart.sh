#!/usr/bin/env bash
# Sets up a fresh Debian machine and trains DDPG on Pendulum-v1.
# Extra arguments go to `ddpg train` (see `.build/release/ddpg train --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product ddpg
exec .build/release/ddpg train --seed 1 --run-dir runs/quickstart "$@"
