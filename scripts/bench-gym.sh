#!/usr/bin/env bash
# ddpg on a gymnasium environment through its Python workers, side by side with Stable-Baselines3
# on the same machine in the same run:
#   1. `ddpg launch --env ENV` (2 Python workers + 1 evaluator) for STEPS env steps, per seed;
#   2. SB3 DDPG and TD3 with rl-baselines3-zoo's hyperparameters, one torch thread, same steps;
#   3. the Python worker's throughput with 1 and 8 environments (a real worker against an
#      ingest-only learner), and where its time goes per env step.
# Prints eval return against env steps and wall seconds as JSON lines, then the ratios.
# Usage: scripts/bench-gym.sh ENV STEPS [--seeds 1,2,3] [--sb3-seeds LIST] [--sb3-algos ddpg,td3]
#        [--out DIR] [--skip-ours] [--skip-sb3] [--skip-worker] [--zoo] [--ddpg-args "FLAGS"]   (FLAGS go to ddpg launch, after ours)
# Ours runs README's recommended MuJoCo command: [256,256] networks, Adam 1e-3, batch 128, two updates per
# env step (samples per insert 256), 10,000 steps before learning, Gaussian σ 0.1 on every worker
# (--noise-spread-alpha 0), MSE, the action joining the critic after its first hidden layer. --zoo runs rl-baselines3-zoo's settings instead, SB3's own: [400,300],
# batch 256, one update per env step. --ddpg-args adds to either and wins (e.g. "--critic-action-layer 0", SB3's critic).
# Results: docs/BENCHMARKS.md ("Gymnasium environments through Python workers").
set -euo pipefail
cd "$(dirname "$0")/.."
(($# >= 2)) || { echo "usage: scripts/bench-gym.sh ENV STEPS [--seeds LIST] [--sb3-seeds LIST] [--sb3-algos LIST] [--out DIR] [--skip-ours] [--skip-sb3] [--skip-worker] [--zoo] [--ddpg-args FLAGS]" >&2; exit 2; }
env_id=$1 steps=$2
shift 2
seeds=1,2,3 sb3_seeds= sb3_algos=ddpg,td3 out= skip_ours= skip_sb3= skip_worker= ddpg_args=
shape=(--actor-hidden 256,256 --critic-hidden 256,256 --batch-size 128 --samples-per-insert 256 --critic-action-layer 1)
while (($#)); do
  case $1 in
    --seeds) seeds=$2; shift ;;
    --sb3-seeds) sb3_seeds=$2; shift ;;
    --sb3-algos) sb3_algos=$2; shift ;;
    --out) out=$2; shift ;;
    --skip-ours) skip_ours=1 ;;
    --skip-sb3) skip_sb3=1 ;;
    --ddpg-args) ddpg_args=$2; shift ;;
    --skip-worker) skip_worker=1 ;;
    --zoo) shape=(--actor-hidden 400,300 --critic-hidden 400,300 --batch-size 256 --samples-per-insert 256 --critic-action-layer 1) ;;
    *) echo "bench-gym.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
sb3_seeds=${sb3_seeds:-$seeds}
[[ $steps =~ ^[0-9]+$ ]] && ((steps >= 20000)) || { echo "bench-gym.sh: STEPS must be a whole number ≥ 20000, got '$steps'" >&2; exit 2; }

scripts/install-deps.sh >&2
swift build -c release >&2
venv=.build/peers-venv
if ! "$venv/bin/python" -c 'import torch, stable_baselines3, gymnasium, zmq, mujoco, ddpg_gym.worker' 2>/dev/null; then
  echo "bench-gym.sh: setting up $venv (PyTorch CPU, stable-baselines3, gymnasium[mujoco], pyzmq, ./python)" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    "$venv/bin/pip" install -q --timeout 20 torch --index-url https://download.pytorch.org/whl/cpu >&2 || "$venv/bin/pip" install -q torch >&2
  fi
  "$venv/bin/pip" install -q stable-baselines3 "gymnasium[mujoco]>=1.1" pyzmq numpy >&2
  "$venv/bin/pip" install -q ./python >&2
fi
py=$venv/bin/python
out=${out:-$(mktemp -d)}
mkdir -p "$out"
echo "bench-gym.sh: results in $out" >&2
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MUJOCO_GL=egl
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
family=$(grep -m1 "^cpu family" /proc/cpuinfo | cut -d: -f2 | tr -d ' ') model=$(grep -m1 "^model\s*:" /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
echo "{\"cpu\": \"$cpu\", \"cpu_family\": ${family:-0}, \"cpu_model\": ${model:-0}, \"cores\": $(nproc --all), $(.build/release/ddpg-bench --only sgemm --quick 2>/dev/null | grep -m1 sgemm_256 | sed 's/^{//; s/}$//')}" | tee "$out/machine.json"
eval_every=$((steps / 10))

# 1. ours.
if [[ -z $skip_ours ]]; then
  for seed in ${seeds//,/ }; do
    .build/release/ddpg launch --env "$env_id" --workers 2 --python "$py" --seed "$seed" --max-env-steps "$steps" \
      --eval-every "$eval_every" --eval-episodes 10 --final-eval-episodes 10 \
      "${shape[@]}" --actor-lr 1e-3 --critic-lr 1e-3 \
      --learning-starts 10000 --noise gaussian --noise-sigma 0.1 --noise-spread-alpha 0 --critic-loss mse $ddpg_args \
      --console none --log-level warning --run-dir "$out/ours-$seed" 2> >(grep -v settotalmass >&2) >/dev/null
    "$py" - "$out/ours-$seed/summary.json" "$seed" <<'PY' | tee -a "$out/ours.jsonl"
import json, sys
s = json.load(open(sys.argv[1])); seed = int(sys.argv[2])
for e in s["eval"]:
    print(json.dumps({"impl": "ddpg", "seed": seed, "env_steps": e["env_steps"], "wall_seconds": e["wall_seconds"], "mean_return": e["mean_return"]}))
f = s["final_eval"]
print(json.dumps({"impl": "ddpg", "seed": seed, "kind": "run", "env_steps": s["env_steps"], "wall_seconds": s["wall_seconds"], "updates": s["updates"],
                  "final_mean_return": f["mean_return"] if f else None,
                  "worker_env_steps_per_second": [r["env_steps_per_second"] for r in s.get("worker_reports", [])],
                  "paced_seconds": [r["paced_seconds"] for r in s.get("worker_reports", [])]}))
PY
  done
fi

# 2. Stable-Baselines3.
if [[ -z $skip_sb3 ]]; then
  for seed in ${sb3_seeds//,/ }; do
    for algo in ${sb3_algos//,/ }; do
      "$py" scripts/peers/sb3_gym.py --env "$env_id" --steps "$steps" --algo "$algo" --seed "$seed" --eval-every "$eval_every" \
        2> >(grep -v settotalmass >&2) | tee -a "$out/sb3.jsonl"
    done
  done
fi

# 3. The Python worker alone: a real worker against a learner that only ingests, then its parts.
if [[ -n $skip_worker ]]; then "$py" scripts/peers/compare_gym.py "$out"; exit 0; fi
ports=$("$py" -c 'import socket
ss=[socket.socket() for _ in range(2)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(*[s.getsockname()[1] for s in ss])')
read -r tp wp <<<"$ports"
for k in 1 8; do
  .build/release/ddpg learner --env "$env_id" --ingest-only --samples-per-insert 0 --max-env-steps 40000 --transitions-port "$tp" --weights-port "$wp" \
    --console none --log-level warning --run-dir "$out/ingest-$k" >/dev/null &
  learner=$!
  "$py" -m ddpg_gym --env "$env_id" --transitions-port "$tp" --weights-port "$wp" --envs-per-worker "$k" --log-level warning \
    --stats-file "$out/worker-$k.json" 2> >(grep -v settotalmass >&2)
  wait "$learner"
  "$py" -c "import json; r = json.load(open('$out/worker-$k.json')); print(json.dumps({'impl': 'ddpg-gym-worker', 'envs_per_worker': $k, 'env_steps_per_second': r['env_steps_per_second'], 'env_steps': r['env_steps']}))" | tee -a "$out/worker.jsonl"
done
"$py" scripts/peers/gym_worker_parts.py --env "$env_id" 2> >(grep -v settotalmass >&2) | tee -a "$out/worker.jsonl"

"$py" scripts/peers/compare_gym.py "$out"
