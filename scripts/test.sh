#!/usr/bin/env bash
# Runs the whole test suite. Tests build in release mode (with testability) so
# that the end-to-end runs of the real `ddpg` binary train at full speed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift test -c release -Xswiftc -enable-testing "$@"
