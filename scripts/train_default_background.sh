#!/usr/bin/env bash
# Start, or continue, the default model's long jobs in the background; logs in runs/*.log.
#   bash scripts/train_default_background.sh model    # train (resume) from the committed shards
#   bash scripts/train_default_background.sh corpus   # continue the teacher corpus on 2 cores
# "model" needs nothing but the repository: the training data is data/default-shards and the
# run starts from the shipped weights (train.init_from); with a run in train.output_dir it resumes. The
# corpus job is only for more data (items already in data/default-shards are not made again):
# prepare its new items into data/default-shards afterwards
# (python -m vall_e.data prepare --yaml configs/default.yaml --input runs/corpus/v1/train
# --output data/default-shards). Do not run the two together: on 2 cores they share both and
# the training's two threads wait on each other. Training bounds the OpenMP spin as the CLI
# does: 25 steps took 107 s with GOMP_SPINCOUNT=3000 against 131 s with OMP_WAIT_POLICY=PASSIVE.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-model}
mkdir -p runs
start() {  # start NAME PATTERN CMD...: unless a process matching PATTERN already runs
  local name=$1 pattern=$2; shift 2
  if pgrep -f "$pattern" > /dev/null; then echo "$name: already running"; return; fi
  setsid nohup "$@" >> "runs/$name.log" 2>&1 < /dev/null &
  echo "$name: started (log runs/$name.log)"
}
case $which in
  model)
    out=$(python -c "import yaml; print(yaml.safe_load(open('configs/default.yaml'))['train']['output_dir'])")
    resume=(); [ -f "$out/lightning/last.ckpt" ] && resume=(--resume)
    OMP_NUM_THREADS=2 GOMP_SPINCOUNT=3000 start train 'vall_e.train --yaml configs/default.yaml' \
      python -m vall_e.train --yaml configs/default.yaml "${resume[@]}" ;;
  corpus)
    for worker in 0 1; do
      start "corpus$worker" "vall_e.data.corpus .*--worker $worker/2" python -m vall_e.data.corpus \
        --yaml recipes/corpus/default.yaml --output runs/corpus/v1 --worker "$worker/2" \
        --skip-prepared data/default-shards
    done ;;
  *) echo "usage: $0 [model|corpus]" >&2; exit 2 ;;
esac
