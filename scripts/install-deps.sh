#!/usr/bin/env bash
# Installs the Debian packages ddpg builds against (OpenBLAS, ZeroMQ, pkg-config),
# skipping apt entirely when they are already present.
set -euo pipefail
packages=(libopenblas-dev libzmq3-dev pkg-config)
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
