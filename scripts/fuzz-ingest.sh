#!/usr/bin/env bash
# Fuzzes the learner's ingest (decoding and the session ledger together) with
# libFuzzer and AddressSanitizer for SECONDS (default 60). The harness is
# Fuzz/Sources/FuzzIngest; a crash or a broken ledger invariant fails the run
# and leaves the input in Fuzz/artifacts/. The corpus persists in Fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/install-deps.sh
# `--sanitize fuzzer` makes SwiftPM link libFuzzer's main; the -Xswiftc flag instruments every module
# for coverage and AddressSanitizer (two --sanitize flags reach the compiler as the last one only).
swift build --package-path Fuzz -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address
mkdir -p Fuzz/corpus Fuzz/artifacts
# A crash must not wait in Swift's backtracer; libFuzzer reports it.
SWIFT_BACKTRACE=enable=no Fuzz/.build/release/FuzzIngest -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix=Fuzz/artifacts/ -rss_limit_mb=4096 Fuzz/corpus 2>&1 | grep -E "^#[0-9]+.(DONE|INITED)|^stat::|ERROR|SUMMARY|Test unit"
status=${PIPESTATUS[0]}
if [[ $status -ne 0 ]]; then
    echo "fuzz-ingest: FAILED (libFuzzer exit $status); the input is in Fuzz/artifacts/" >&2
    exit "$status"
fi
echo "fuzz-ingest: passed (${seconds} s, no crash, every ledger invariant held)"
