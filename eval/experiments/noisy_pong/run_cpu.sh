#!/usr/bin/env bash
# The CPU runs behind eval/results/noisy_pong/README.md, one at a time (2-core CPU, no GPU):
#   [AGENTS="scal_rl ppo"] [PIPELINES=noisy] bash eval/experiments/noisy_pong/run_cpu.sh [STEPS] [LOG_FOLDER]
# Pipeline "noisy": NoisyPong-v0 at its defaults; "clean": the same pipeline with noise and delay off.
set -u
STEPS=${1:-25000}
LOGS=${2:-logs/noisy_pong}
AGENTS=${AGENTS:-scal_rl ppo dqn}
PIPELINES=${PIPELINES:-noisy clean}
COMMON=(-n "$STEPS" --eval-freq 5000 --eval-episodes 5 --final-eval-episodes 10 --checkpoint-minutes 0
        --num-threads 1 --no-tensorboard --verbose 0)
CLEAN=(--env-kwargs flip_prob:0.0 obs_delay:null)
run() {  # run LOG_SUBFOLDER AGENT SEED [extra args...]
  local folder=$1 agent=$2 seed=$3; shift 3
  echo "$(date -u +%FT%TZ) start $folder $agent seed $seed" >> "$LOGS/progress.log"
  nice -n 10 python train/run.py --env NoisyPong-v0 --agent "$agent" --seed "$seed" -f "$LOGS/$folder" \
      "$@" >> "$LOGS/$folder.log" 2>&1
  echo "$(date -u +%FT%TZ) done  $folder $agent seed $seed rc=$?" >> "$LOGS/progress.log"
}
mkdir -p "$LOGS"
for pipeline in $PIPELINES; do
  extra=()
  [ "$pipeline" = clean ] && extra=("${CLEAN[@]}")
  run "$pipeline" random 0 --final-eval-episodes 10 --num-threads 1 --no-tensorboard --verbose 0 "${extra[@]}"
  for agent in $AGENTS; do
    for seed in 0 1; do run "$pipeline" "$agent" "$seed" "${COMMON[@]}" "${extra[@]}"; done
  done
done
