#!/usr/bin/env bash
# Counts heap allocations per DDPG update ([64,64], batch 256): runs 10 and 210
# updates under an LD_PRELOAD shim that counts malloc and friends
# (scripts/tools/malloc-count.c, built here with cc), and prints the difference
# per update as a JSON line. Expected value: 0. Optional: without a C compiler,
# or if the shim cannot be used, it says why and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "check-allocations: skipped: $*" >&2; exit 0; }
command -v cc >/dev/null || skip "no C compiler (cc) to build the counting shim"
[ -x .build/release/ddpg-bench ] || swift build -c release --product ddpg-bench >&2 || skip "ddpg-bench did not build"
shim=$(mktemp -d)/malloc-count.so
trap 'rm -rf "$(dirname "$shim")"' EXIT
cc -O2 -shared -fPIC -o "$shim" scripts/tools/malloc-count.c 2>&1 || skip "the shim did not compile"
count() {
  LD_PRELOAD="$shim" .build/release/ddpg-bench --fixed-updates "$1" 2>&1 >/dev/null | sed -n 's/^malloc-count: \([0-9]*\) allocations$/\1/p' | tail -1
}
few=$(count 10)
many=$(count 210)
[[ -n $few && -n $many ]] || skip "the shim printed no count (is LD_PRELOAD honoured here?)"
echo "{\"name\": \"heap_allocations_per_update\", \"value\": $(( (many - few) / 200 )), \"unit\": \"allocs\"}"
