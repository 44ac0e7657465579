#!/usr/bin/env bash
# Builds deploy/'s images with podman and runs its compose files with podman-compose.
#   1. Images. Where no registry answers (as on the machines this project is developed on), on a Debian 12
#      base made here with debootstrap and `podman import`: deploy/Dockerfile's runtime stage around a ddpg
#      built on this host (`--static-swift-stdlib`, as the image's build stage does it), and
#      deploy/Dockerfile.gym-worker on a stand-in for python:3.11-slim-bookworm (Debian 12's python3 in a venv
#      at /usr/local). Where a registry answers, both Dockerfiles as shipped, the Swift build stage included.
#   2. deploy/docker-compose.yml: a learner, 2 workers and an evaluator must solve Pendulum-v1; the learner's
#      summary.json is read from its volume.
#   3. deploy/docker-compose.gym.yml: a learner, 2 Python workers and an evaluator run a short HalfCheetah-v5,
#      watched through the learner's /status on the port the compose file publishes.
# Only the run length differs from the shipped compose files (an override file shortens the learner's run).
# Where this machine cannot run containers, it prints why and exits 0 with "skipped".
# Usage: scripts/container-test.sh [--local] [--keep]
#   --local: the local base and the host's binary even where a registry answers;
#   --keep: leave the compose projects' containers and volumes.
set -euo pipefail
cd "$(dirname "$0")/.."
keep= local_only=
while (($#)); do
  case $1 in
    --keep) keep=1 ;;
    --local) local_only=1 ;;
    *) echo "container-test.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
say() { echo "container-test: $*"; }
skip() { say "skipped: $*"; exit 0; }
fail() { say "FAILED: $*" >&2; exit 1; }

# --- What the machine has --------------------------------------------------------------------------
[[ $EUID -eq 0 ]] || skip "needs root: debootstrap makes the base image, and podman runs rootful here"
# libcurl4-openssl-dev: the static link of FoundationNetworking names -lcurl.
missing=()
for package in podman buildah debootstrap runc libcurl4-openssl-dev; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || skip "${missing[*]} not installed, and no apt-get to install them"
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/tmp/container-test-apt.log 2>&1 \
    || skip "apt-get could not install ${missing[*]} ($(tail -1 /tmp/container-test-apt.log))"
fi
venv=.build/container-venv
if ! "$venv/bin/podman-compose" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check podman-compose \
    || skip "pip could not install podman-compose from PyPI"
fi
compose_version=$("$venv/bin/podman-compose" --version 2>/dev/null | head -1)

state=$(mktemp -d /tmp/ddpg-containers.XXXXXX)
# The compose files admit evaluators by this secret; every podman-compose call (down too) needs it set.
DDPG_EVALUATOR_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export DDPG_EVALUATOR_TOKEN
projects=()
cleanup() {
  if [[ -z $keep ]]; then
    for p in "${projects[@]}"; do
      "$venv/bin/podman-compose" -p "${p%%|*}" -f "${p#*|}" down -v >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$state"
}
trap cleanup EXIT

# --- A local Debian 12 base ------------------------------------------------------------------------
base=localhost/ddpg-local/debian:bookworm
if ! podman image exists "$base"; then
  say "debootstrap: a minimal Debian 12 (bookworm) root file system"
  debootstrap --variant=minbase bookworm "$state/rootfs" http://deb.debian.org/debian >"$state/debootstrap.log" 2>&1 \
    || skip "debootstrap could not make a Debian 12 root ($(tail -1 "$state/debootstrap.log"))"
  # What debootstrap downloaded stays out of the image: a slim base, as debian:bookworm-slim is.
  rm -rf "$state/rootfs"/var/cache/apt/archives/*.deb "$state/rootfs"/var/lib/apt/lists/* "$state/rootfs"/usr/share/doc/* \
    "$state/rootfs"/usr/share/man/* "$state/rootfs"/usr/share/locale/*
  tar -C "$state/rootfs" -c . | podman import --quiet - "$base" >/dev/null
  rm -rf "$state/rootfs"
fi

# --- Can this machine run a container at all? -------------------------------------------------------
# podman's defaults raise RLIMIT_NOFILE and RLIMIT_NPROC, which a container host without CAP_SYS_RESOURCE
# over its own limits refuses; crun refuses cgroups in hybrid (v1 + v2) mode, where runc works. Try the
# defaults first, then the host's limits, then runc; the first that runs is written into a containers.conf
# that podman-compose's podman calls read too.
export CONTAINERS_CONF=$state/containers.conf
nofile=$(ulimit -n)
attempts=(
  "crun|"
  "crun|\"nofile=$nofile:$nofile\", \"nproc=4096:4096\""
  "runc|"
  "runc|\"nofile=$nofile:$nofile\", \"nproc=4096:4096\""
)
chosen= why=
for attempt in "${attempts[@]}"; do
  runtime=${attempt%%|*} ulimits=${attempt#*|}
  command -v "$runtime" >/dev/null || continue
  printf '[containers]\ndefault_ulimits = [%s]\n[engine]\nruntime = "%s"\n' "$ulimits" "$runtime" >"$CONTAINERS_CONF"
  if why=$(podman run --rm --network none "$base" true 2>&1); then
    chosen="$runtime${ulimits:+, limits $ulimits}"
    break
  fi
done
[[ -n $chosen ]] || skip "podman cannot start a container here: ${why##*$'\n'}"
say "containers run with $chosen ($(podman --version), $compose_version, storage $(podman info --format '{{.Store.GraphDriverName}}'))"
# Containers reach Debian's mirror and PyPI while building, and each other by name on a compose network.
why=$(podman run --rm "$base" getent hosts deb.debian.org 2>&1) || skip "a container cannot resolve deb.debian.org: ${why##*$'\n'}"

# --- Images -------------------------------------------------------------------------------------------
image_build() {  # $1: tag, $2: Dockerfile, then podman build options
  local tag=$1 file=$2 started=$SECONDS
  shift 2
  podman build "$@" -f "$file" -t "$tag" . >"$state/build-${tag//[:\/]/_}.log" 2>&1 \
    || { tail -30 "$state/build-${tag//[:\/]/_}.log" >&2; fail "podman build -f $file failed"; }
  say "built $tag from $file in $((SECONDS - started)) s: $(podman image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}')"
}
# pip inside the build trusts what the host trusts (a TLS-intercepting proxy's CA, say): the host's bundle, mounted.
trust=()
for bundle in "${PIP_CERT:-}" /etc/ssl/certs/ca-certificates.crt; do
  [[ -n $bundle && -f $bundle ]] && { trust=(--volume "$bundle:/run/build-host-ca.crt:ro" --build-arg PIP_CERT=/run/build-host-ca.crt); break; }
done

if [[ -z $local_only ]] && why=$(timeout 120 podman pull --quiet docker.io/library/debian:bookworm-slim 2>&1); then
  say "a registry answers: building both images as shipped, the Swift build stage included"
  image_build ddpg:latest deploy/Dockerfile --pull=missing
  image_build ddpg-gym-worker:latest deploy/Dockerfile.gym-worker --pull=missing "${trust[@]}"
else
  [[ -n $local_only ]] && why="--local" || why="no registry: ${why##*$'\n'}"
  say "$why: the runtime stages on $base, with ddpg built on this host"
  say "swift build: ddpg with the Swift runtime linked in statically (.build-static), as the image's build stage does"
  swift build -c release --product ddpg --static-swift-stdlib --scratch-path .build-static >"$state/swift-build.log" 2>&1 \
    || { tail -20 "$state/swift-build.log" >&2; fail "the static build of ddpg failed"; }
  mkdir "$state/binary"
  install -m 0755 "$(swift build -c release --scratch-path .build-static --show-bin-path)/ddpg" "$state/binary/ddpg"
  printf 'FROM scratch\nCOPY ddpg /out/ddpg\n' >"$state/binary/Containerfile"
  podman build --quiet --pull=never -t localhost/ddpg-local/binary:host "$state/binary" >/dev/null

  python_base=localhost/ddpg-local/python:3.11-bookworm
  if ! podman image exists "$python_base"; then
    say "building $python_base: Debian 12's python3 (3.11) in a venv at /usr/local, standing in for python:3.11-slim-bookworm"
    mkdir "$state/python"
    printf '%s\n' "FROM $base" \
      'RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates && rm -rf /var/lib/apt/lists/*' \
      'RUN python3 -m venv /usr/local' >"$state/python/Containerfile"
    podman build --quiet --pull=never -t "$python_base" "$state/python" >/dev/null
  fi
  image_build ddpg:latest deploy/Dockerfile --pull=never --build-arg DDPG_BINARY_FROM=localhost/ddpg-local/binary:host \
    --build-arg RUNTIME_BASE="$base"
  image_build ddpg-gym-worker:latest deploy/Dockerfile.gym-worker --pull=never --build-arg PYTHON_BASE="$python_base" "${trust[@]}"
fi
version=$(podman run --rm ddpg:latest --version 2>&1) || fail "the ddpg image does not run: $version"
say "ddpg:latest runs as $(podman run --rm --entrypoint id ddpg:latest -un): ddpg $version"

# --- Compose runs -------------------------------------------------------------------------------------
# Writes $state/$project-override.yml: the shipped file's learner with its run shortened (flag=value pairs replaced),
# as an override podman-compose merges over the shipped file.
shorten() {  # $1: project, $2: compose file, then flag=value pairs
  local project=$1 file=$2
  shift 2
  "$venv/bin/python" - "$file" "$state/$project-override.yml" "$@" <<'PY'  # PyYAML comes with podman-compose
import sys, yaml
path, out, *pairs = sys.argv[1:]
command = yaml.safe_load(open(path))["services"]["learner"]["command"]
for pair in pairs:
    flag = pair.split("=", 1)[0]
    command = [c for c in command if c.split("=", 1)[0] != flag] + [pair]
yaml.safe_dump({"services": {"learner": {"command": command}}}, open(out, "w"))
PY
}

# Runs project $1 from compose file $2 with the learner's run shortened by the remaining flag=value pairs
# and `--scale` $3, waits for the learner to stop, and leaves its summary in $state/$1-summary.json.
compose_run() {
  local project=$1 file=$2 scale=$3 started=$SECONDS
  shift 3
  projects+=("$project|$file")
  shorten "$project" "$file" "$@"
  local compose=("$venv/bin/podman-compose" -p "$project" -f "$file" -f "$state/$project-override.yml")
  "${compose[@]}" down -v >/dev/null 2>&1 || true
  timeout 300 "${compose[@]}" up -d --no-build --scale "$scale" \
    >"$state/$project-up.log" 2>&1 || { tail -20 "$state/$project-up.log" >&2; fail "podman-compose up ($file) failed"; }
  local learner
  learner=$(podman ps -a --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=learner" --format '{{.Names}}' | head -1)
  [[ -n $learner ]] || fail "$file: no learner container in project $project"
  say "$file: started $(podman ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}' | sort | tr '\n' ' ')"
  if [[ -n ${PROBE_STATUS:-} ]]; then
    # The learner's /status through the port the compose file publishes on the host's loopback, while it runs.
    python3 - <<'PY' || fail "$file: the learner's /status on 127.0.0.1:9464 never showed 2 workers and an evaluator connected"
import json, sys, time, urllib.request
deadline = time.time() + 120
while time.time() < deadline:
    try:
        status = json.load(urllib.request.urlopen("http://127.0.0.1:9464/status", timeout=2))
        if status.get("workers_connected", 0) >= 2 and (status.get("evaluators_connected") or 0) >= 1 and status.get("env_steps", 0) > 0:
            print(f"container-test:   http://127.0.0.1:9464/status: {status['environment']}, {status['env_steps']:,} env steps, "
                  f"{status['workers_connected']} workers and {status['evaluators_connected']} evaluator connected")
            sys.exit(0)
    except (OSError, ValueError):
        pass
    time.sleep(0.5)
sys.exit(1)
PY
  fi
  local status
  status=$(timeout 900 podman wait "$learner") || { podman logs --tail 30 "$learner" >&2; fail "$file: the learner did not stop within 15 minutes"; }
  podman logs "$learner" >"$state/$project-learner.log" 2>&1 || true
  [[ $status == 0 ]] || { tail -30 "$state/$project-learner.log" >&2; fail "$file: the learner exited with status $status"; }
  local volume mountpoint
  volume=$(podman volume ls --filter "label=com.docker.compose.project=$project" --format '{{.Name}}' | head -1)
  mountpoint=$(podman volume inspect "$volume" --format '{{.Mountpoint}}')
  cp "$mountpoint/run/summary.json" "$state/$project-summary.json" || fail "$file: no run/summary.json in the learner's volume $volume"
  say "$file: the learner stopped after $((SECONDS - started)) s; summary.json read from volume $volume"
}

# Prints one line about a run's summary and checks it: $1 summary, $2 workers expected, $3 "solved" or "ran".
check_summary() {
  python3 - "$@" <<'PY'
import json, sys
path, workers, expect = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = json.load(open(path))
actors = [w for w in s["workers"] if w.get("role", 0) == 0]
evaluators = [w for w in s["workers"] if w.get("role", 0) == 1]
final = s.get("final_eval") or {}
solved = s.get("solved_at")
print(f"container-test:   {s['config']['environment']}: {s['env_steps']:,} env steps, {s['updates']:,} updates in {s['wall_seconds']:.1f} s; "
      f"{len(actors)} workers sent {', '.join(str(w['transitions_received']) for w in actors)} transitions; "
      f"{len(evaluators)} evaluator, {len(s.get('eval', []))} evaluations; "
      f"final evaluation {final.get('mean_return', float('nan')):.1f} over {final.get('episodes', 0)} episodes; "
      f"solved at {solved['env_steps'] if solved else 'never'} (solved return {s['config'].get('solved_return')}); "
      f"stopped: {s['stop_reason']}")
problems = []
if len(actors) != workers or any(w["transitions_received"] == 0 for w in actors):
    problems.append(f"expected {workers} workers that each sent transitions")
if not evaluators or not s.get("eval") or not final:
    problems.append("no evaluator played the evaluations")
if s["updates"] == 0:
    problems.append("the learner made no updates")
if expect == "solved" and not solved:
    problems.append(f"not solved: no evaluation reached {s['config']['solved_return']}")
if problems:
    sys.exit("container-test: " + "; ".join(problems))
PY
}

say "Pendulum-v1: deploy/docker-compose.yml, 2 workers and an evaluator"
compose_run ddpg-ct-pendulum deploy/docker-compose.yml worker=2 --max-env-steps=40000 --until-return=-200
check_summary "$state/ddpg-ct-pendulum-summary.json" 2 solved || fail "deploy/docker-compose.yml did not solve Pendulum-v1"

say "HalfCheetah-v5: deploy/docker-compose.gym.yml, 2 Python workers and an evaluator, a short run"
PROBE_STATUS=1 compose_run ddpg-ct-gym deploy/docker-compose.gym.yml gym-worker=2 --max-env-steps=6000 --learning-starts=2000
check_summary "$state/ddpg-ct-gym-summary.json" 2 ran || fail "deploy/docker-compose.gym.yml's run is not what it should be"
say "passed"
