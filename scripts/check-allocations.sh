#!/usr/bin/env bash
# Counts heap allocations per DDPG update ([64,64], batch 256) with valgrind:
# runs 10 and 210 updates and prints the difference per update as a JSON line.
# Needs valgrind (apt-get install valgrind). Expected value: 0.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 1; }
[ -x .build/release/ddpg-bench ] || swift build -c release --product ddpg-bench >&2
count() {
  # valgrind does not decode every AVX-512 instruction: keep OpenBLAS's default kernels.
  DDPG_KEEP_OPENBLAS_CORE=1 valgrind .build/release/ddpg-bench --fixed-updates "$1" 2>&1 \
    | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,
}
few=$(count 10)
many=$(count 210)
echo "{\"name\": \"heap_allocations_per_update\", \"value\": $(( (many - few) / 200 )), \"unit\": \"allocs\"}"
