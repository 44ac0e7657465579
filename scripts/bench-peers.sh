#!/usr/bin/env bash
# ddpg side by side with its peers on this machine, in one run:
#   1. the DDPG update (batch 256; [256,256], [400,300], [64,64]) against PyTorch's,
#      one thread each, with plain and with fused Adam;
#   2. time to first solve on Pendulum-v1 (first evaluation mean >= -200), seeds 1-3:
#      `ddpg train` and `ddpg launch --workers 2` against Stable-Baselines3 DDPG with
#      rl-baselines3-zoo's tuned hyperparameters.
# Prints one JSON object per line, then the ratios. Makes its own venv (PyTorch CPU,
# stable-baselines3, gymnasium) under .build/peers-venv. Results: docs/BENCHMARKS.md.
# Options: --quick (2 s per update timing instead of 5), --seeds LIST (default 1,2,3).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5 seeds=1,2,3
while (($#)); do
  case $1 in
    --quick) seconds=2 ;;
    --seeds) seeds=$2; shift ;;
    *) echo "bench-peers.sh: unknown option '$1' (expected --quick or --seeds LIST)" >&2; exit 2 ;;
  esac
  shift
done

scripts/install-deps.sh >&2
swift build -c release >&2

venv=.build/peers-venv
if ! "$venv/bin/python" -c 'import torch, stable_baselines3, gymnasium' 2>/dev/null; then
  echo "bench-peers.sh: setting up $venv (PyTorch CPU, stable-baselines3, gymnasium)" >&2
  python3 -m venv "$venv"
  # PyTorch's CPU-only wheel where its index or a local wheel has it; PyPI's (CUDA) build otherwise.
  local_wheel=$(ls ${PIP_FIND_LINKS:-/nonexistent}/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -1 || true)
  if [[ -n $local_wheel ]]; then
    "$venv/bin/pip" install -q "$local_wheel" >&2
  elif ! "$venv/bin/pip" install -q --timeout 20 torch --index-url https://download.pytorch.org/whl/cpu >&2; then
    "$venv/bin/pip" install -q torch >&2
  fi
  "$venv/bin/pip" install -q stable-baselines3 "gymnasium>=1.0" numpy >&2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

# 1. Updates per second. Interleaved shape by shape so that drift of a shared machine falls on both.
for shape in 256x256 400x300 64x64; do
  .build/release/ddpg-bench --only "update_b256_$shape" $([[ $seconds == 2 ]] && echo --quick) | tee -a "$out/ours.jsonl"
  "$venv/bin/python" scripts/peers/torch_update.py --seconds "$seconds" --shapes "$shape" | tee -a "$out/torch.jsonl"
done

# 2. Time to first solve.
for seed in ${seeds//,/ }; do
  .build/release/ddpg train --seed "$seed" --run-dir "$out/train-$seed" --log-level warning >/dev/null
  .build/release/ddpg launch --workers 2 --seed "$seed" --run-dir "$out/launch-$seed" --console none --log-level warning >/dev/null
done
"$venv/bin/python" scripts/peers/sb3_solve.py --seeds "$seeds" | tee "$out/sb3.jsonl"

"$venv/bin/python" scripts/peers/compare.py "$out" "$seeds"
