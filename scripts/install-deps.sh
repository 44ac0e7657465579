#!/usr/bin/env bash
# Installs the Debian packages ddpg builds against (OpenBLAS, ZeroMQ, pkg-config) and its tests use
# (python3-venv for the Python package, procps for pgrep, chromium for the live page's browser test, Mesa's EGL
# for MuJoCo's offscreen rendering in `ddpg render`),
# skipping apt entirely when they are already present.
set -euo pipefail
packages=(libopenblas-dev libzmq3-dev pkg-config python3-venv procps chromium libegl1 libegl-mesa0 libgl1-mesa-dri)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y "${missing[@]}"
