#!/usr/bin/env bash
# Runs the whole test suite. Tests build in release mode (with testability) so
# that the end-to-end runs of the real `ddpg` binary train at full speed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift test -c release -Xswiftc -enable-testing "$@"
# The Python package (python/): its codec against the golden vectors the Swift suite checks, its
# worker's parts, and real processes: `ddpg learner` and `ddpg launch` with `ddpg-gym-worker`s on
# gymnasium environments, beside Swift workers (python/tests/test_processes.py), using the build above.
[ -x .build/pyvenv/bin/python ] || python3 -m venv .build/pyvenv
.build/pyvenv/bin/pip install --quiet --disable-pip-version-check "./python[test]"
# The package is typed (py.typed) and checked as it is shipped: ruff's lints, then mypy --strict (python/pyproject.toml).
.build/pyvenv/bin/ruff check python
(cd python && ../.build/pyvenv/bin/mypy)
DDPG_BIN=.build/release/ddpg DDPG_REQUIRE_PROCESS_TESTS=1 .build/pyvenv/bin/python -m pytest python/tests
