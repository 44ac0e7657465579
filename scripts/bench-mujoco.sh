#!/usr/bin/env bash
# Issue 27's suite: the four MuJoCo tasks at 100,000 env steps, ours (DDPG as README recommends, TD3, SAC, CrossQ) and the
# references (SB3 TD3 and SAC with rl-zoo's settings, sb3-contrib CrossQ), a cell at a time through scripts/bench-gym.sh,
# one after another (two at once on two cores would time each other). A cell already in OUT is skipped, so the suite can
# be stopped and run again; the table (scripts/peers/mujoco_table.py) covers whatever cells have finished.
#
#   scripts/bench-mujoco.sh [--tasks LIST] [--configs LIST] [--references LIST] [--seeds LIST] [--out DIR] [--steps N] [--table]
#
# Configs: ddpg, td3, sac, sac128 (SAC at batch 128), crossq.
# Defaults: every task, configs ddpg,td3,sac,crossq, references sb3-td3,sb3-sac (sb3-contrib's CrossQ at the zoo's
# [2048, 2048] critics runs for ~10 h on 2 cores: name it to run it), seeds 1,2,3, out runs/bench-mujoco.
# Runs take 9–12 min each for ours and 15–40 min for SB3 on 2 cores: the default grid is about 2 days.
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=HalfCheetah-v5,Hopper-v5,Walker2d-v5,Ant-v5 configs=ddpg,td3,sac,crossq references=sb3-td3,sb3-sac seeds=1,2,3
out=runs/bench-mujoco steps=100000 table_only=
while (($#)); do
  case $1 in
    --tasks) tasks=$2; shift ;;
    --configs) configs=$2; shift ;;
    --references) references=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --out) out=$2; shift ;;
    --steps) steps=$2; shift ;;
    --table) table_only=1 ;;
    *) echo "bench-mujoco.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

# Each configuration's flags for `ddpg launch`, after bench-gym.sh's own (which they override).
flags_of() {
  case $1 in
    ddpg) echo "" ;;  # README's recommendation: bench-gym.sh's default shape
    td3) echo "--zoo --ddpg-args '--algorithm td3 --critic-action-layer 0'" ;;  # rl-zoo's TD3: [400, 300], batch 256, one update per step
    sac) echo "--ddpg-args '--algorithm sac --batch-size 256 --actor-lr 3e-4 --critic-lr 3e-4 --samples-per-insert 256 --critic-action-layer 0'" ;;
    # SAC at batch 128, one update per env step: about a quarter of SB3's wall time on 2 cores, where batch 256 takes half.
    sac128) echo "--ddpg-args '--algorithm sac --batch-size 128 --actor-lr 3e-4 --critic-lr 3e-4 --samples-per-insert 128 --critic-action-layer 0'" ;;
    crossq) echo "--ddpg-args '--algorithm crossq --batch-size 256 --samples-per-insert 256 --critic-action-layer 0'" ;;
    *) echo "bench-mujoco.sh: unknown config '$1' (ddpg, td3, sac, sac128, crossq)" >&2; return 1 ;;
  esac
}

if [[ -z $table_only ]]; then
  for task in ${tasks//,/ }; do
    for seed in ${seeds//,/ }; do
      for config in ${configs//,/ }; do
        cell=$out/$task/$config-seed$seed
        if grep -qs '"kind": "run"' "$cell/ours.jsonl"; then continue; fi
        flags=$(flags_of "$config")
        echo "bench-mujoco.sh: $task, ours $config, seed $seed → $cell" >&2
        eval scripts/bench-gym.sh "$task" "$steps" --seeds "$seed" --skip-sb3 --skip-worker --out "$cell" "$flags" >&2
      done
      for reference in ${references//,/ }; do
        algo=${reference#sb3-}
        case $algo in td3 | sac | crossq) ;; *) echo "bench-mujoco.sh: unknown reference '$reference' (sb3-td3, sb3-sac, sb3-crossq)" >&2; exit 2 ;; esac
        cell=$out/$task/$reference-seed$seed
        if grep -qs '"kind": "run"' "$cell/sb3.jsonl"; then continue; fi
        echo "bench-mujoco.sh: $task, $reference, seed $seed → $cell" >&2
        scripts/bench-gym.sh "$task" "$steps" --skip-ours --skip-worker --sb3-seeds "$seed" --sb3-algos "$algo" --out "$cell" >&2
      done
    done
  done
fi
python3 scripts/peers/mujoco_table.py "$out"
