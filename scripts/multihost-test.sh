#!/usr/bin/env bash
# A learner and two workers on three "hosts": network namespaces joined by veth pairs
# and a bridge, with private addresses (10.251.0.0/24) that this script makes and
# removes itself. Checks that transitions from both worker hosts reached the learner
# and that both workers received weights, then measures ingest across namespaces
# next to loopback. Needs root and iproute2; cleans up even on failure or Ctrl-C.
#
#   scripts/multihost-test.sh            # builds if needed, then runs (about 1 minute)
#   DDPG_BIN=path/to/ddpg scripts/multihost-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -ne 0 ]]; then echo "multihost-test: needs root to create network namespaces" >&2; exit 2; fi
if ! command -v ip >/dev/null; then echo "multihost-test: needs ip (Debian's iproute2)" >&2; exit 2; fi
BIN=${DDPG_BIN:-.build/release/ddpg}
[[ -x $BIN ]] || swift build -c release --product ddpg >&2
BIN=$(realpath "$BIN")

TAG=$$
BRIDGE=ddpgbr$TAG
NAMESPACES=(ddpg-learner-$TAG ddpg-worker-a-$TAG ddpg-worker-b-$TAG)
ADDRESSES=(10.251.0.1 10.251.0.2 10.251.0.3)
WORK=$(mktemp -d /tmp/ddpg-multihost.XXXXXX)
PIDS=()

cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    ip link del "$BRIDGE" 2>/dev/null || true
    if [[ $status -ne 0 ]]; then
        echo "multihost-test: FAILED (logs below)" >&2
        tail -n 20 "$WORK"/*.log >&2 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT INT TERM

ip link add "$BRIDGE" type bridge
ip link set "$BRIDGE" up
for i in 0 1 2; do
    ns=${NAMESPACES[$i]} host=dv$i-$TAG peer=dv$i-${TAG}p
    ip netns add "$ns"
    ip link add "$host" type veth peer name "$peer"
    ip link set "$host" master "$BRIDGE" up
    ip link set "$peer" netns "$ns"
    ip netns exec "$ns" ip addr add "${ADDRESSES[$i]}/24" dev "$peer"
    ip netns exec "$ns" ip link set "$peer" up
    ip netns exec "$ns" ip link set lo up
done

# run NAME LEARNER_NS WORKER_NS_A WORKER_NS_B LEARNER_ADDRESS EXTRA_LEARNER_FLAGS...
# Runs a learner and two workers to --max-env-steps; "" as a namespace means this host.
run() {
    local name=$1 lns=$2 wa=$3 wb=$4 address=$5
    shift 5
    local dir=$WORK/$name
    mkdir -p "$dir"
    in_ns() { local ns=$1; shift; if [[ -n $ns ]]; then ip netns exec "$ns" "$@"; else "$@"; fi; }
    # --insecure: the namespaces' bridge stands for a private network; CURVE is tested in the suite.
    in_ns "$lns" "$BIN" learner --evaluator-token multihost-test --bind "$address" --insecure --run-dir "$dir" --console plain --drain-seconds 5 "$@" >"$dir/learner.out" 2>"$WORK/$name-learner.log" &
    local learner=$!
    PIDS+=("$learner")
    sleep 0.5
    for id in 0 1; do
        local ns=$wa
        [[ $id -eq 1 ]] && ns=$wb
        in_ns "$ns" "$BIN" worker --learner "$address" --worker-id "$id" --workers 2 --seed 1 \
            --stats-file "$dir/worker-$id.json" 2>"$WORK/$name-worker-$id.log" &
        PIDS+=("$!")
    done
    # The evaluator beside worker 0: evaluations and the final one come from it.
    in_ns "$wa" "$BIN" worker --evaluator --evaluator-token multihost-test --learner "$address" --worker-id 2 --stats-file "$dir/evaluator.json" \
        2>"$WORK/$name-evaluator.log" &
    PIDS+=("$!")
    local waited=0
    while kill -0 "$learner" 2>/dev/null; do
        sleep 1
        waited=$((waited + 1))
        if [[ $waited -gt 120 ]]; then echo "multihost-test: $name did not finish within 120 s" >&2; exit 1; fi
    done
    wait "$learner"
    sleep 1
}

check() {
    python3 - "$WORK/$1" "$2" "${3:-weights}" <<'PY'
import json, sys
directory, name, expect_weights = sys.argv[1], sys.argv[2], sys.argv[3] == "weights"
summary = json.load(open(f"{directory}/summary.json"))
sent = summary["transitions_sent"]
received, rejected, after_stop = summary["transitions_received"], summary["transitions_rejected"], summary["transitions_after_stop"]
assert sorted(sent) == ["0", "1"], f"transitions from both worker hosts: {sent}"
assert all(v > 0 for v in sent.values()), f"both workers sent: {sent}"
assert sum(sent.values()) == received + rejected + after_stop, f"sent {sent} != received {received} + rejected {rejected} + after the stop {after_stop}"
for worker in (0, 1):
    report = json.load(open(f"{directory}/worker-{worker}.json"))
    if expect_weights:
        assert report["weights_applied"] > 0, f"worker {worker} received no weights"
rate = received / summary["wall_seconds"]
print(json.dumps({"run": name, "transitions_received": received, "per_worker": sent,
                  "weights_version": summary["weights_version"], "wall_seconds": round(summary["wall_seconds"], 2),
                  "transitions_per_second": round(rate), "final_eval": round(summary["final_eval"]["mean_return"], 1)}))
if expect_weights:
    assert summary["eval"], "evaluations arrived from the evaluator on another host"
PY
}

L=${NAMESPACES[0]} A=${NAMESPACES[1]} B=${NAMESPACES[2]}
COMMON=(--max-env-steps 20000 --eval-every 5000 --final-eval-episodes 10)
# Training at the default ratio: the workers are paced by the learner's updates.
run learn "$L" "$A" "$B" "${ADDRESSES[0]}" "${COMMON[@]}"
check learn "namespaces, learning"
# Ingest only (no training, so no weights): what the network path carries.
INGEST=(--max-env-steps 1500000 --ingest-only --eval-every 100000000 --final-eval-episodes 1)
run ingest-ns "$L" "$A" "$B" "${ADDRESSES[0]}" "${INGEST[@]}"
check ingest-ns "namespaces, ingest only" no-weights
run ingest-loopback "" "" "" 127.0.0.1 "${INGEST[@]}"
check ingest-loopback "loopback, ingest only" no-weights
echo "multihost-test: passed"
