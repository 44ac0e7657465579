#!/usr/bin/env bash
# Runs the whole test suite. Tests build in release mode (with testability) so
# that the end-to-end runs of the real `ddpg` binary train at full speed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift test -c release -Xswiftc -enable-testing "$@"
# The Python package's codec against the same golden vectors the Swift suite checks (python/tests/golden).
[ -x .build/pyvenv/bin/python ] || python3 -m venv .build/pyvenv
.build/pyvenv/bin/pip install --quiet --disable-pip-version-check "./python[test]"
.build/pyvenv/bin/python -m pytest python/tests
