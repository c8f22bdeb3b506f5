#!/usr/bin/env bash
# Start, or continue, the default model's long jobs in the background (each resumes from its
# own checkpoint): the corpus (skips what is made), the mel_rvq codec, then the AR+NAR.
#   bash scripts/train_default_background.sh [all|codec|model|extra]   # logs in runs/*.log
# "model" starts only the AR+NAR, "codec" only the codec. The two never run together: side by
# side at one thread each the vocoder made 0.57 steps/s and the AR a step per 15 s, against
# 2.0 steps/s and 4.3 s alone on both cores (measured on the 2-core machine), so together they
# got ~58% of what running them one after the other gets. "extra" starts the extension corpus
# (recipes/corpus/extra.yaml) on one core; "model" first prepares whatever it has made.
# setsid detaches the jobs from this shell, so they outlive it. Beside a running corpus job
# the training gets OMP_NUM_THREADS=1: two intra-op threads sharing one busy core wait on
# each other at every barrier (measured: ~40 s a step instead of ~3 s).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
case $which in all|codec|model|extra) ;; *) echo "usage: $0 [all|codec|model|extra]" >&2; exit 2 ;; esac
mkdir -p runs

start() {  # start NAME PATTERN CMD...: unless a process matching PATTERN already runs
  local name=$1 pattern=$2; shift 2
  if pgrep -f "$pattern" > /dev/null; then echo "$name: already running"; return; fi
  setsid nohup "$@" >> "runs/$name.log" 2>&1 < /dev/null &
  echo "$name: started (log runs/$name.log)"
}

if [ ! -f runs/corpus/v1/report.json ] || ! grep -q '"complete": true' runs/corpus/v1/report.json; then
  start corpus vall_e.data.corpus python -m vall_e.data.corpus --yaml recipes/corpus/default.yaml --output runs/corpus/v1
  echo "the corpus must be complete before the data is prepared; rerun this script afterwards"
  exit 0
fi
if [ "$which" = extra ]; then  # more training text (recipes/corpus/extra.yaml), on one core
  start corpus-extra 'vall_e.data.corpus --yaml recipes/corpus/extra.yaml' \
    python -m vall_e.data.corpus --yaml recipes/corpus/extra.yaml --output runs/corpus/extra
  echo "rerun '$0 model' later: it prepares the extra items made so far and restarts on them"
  exit 0
fi
busy() {  # busy PATTERN NAME: refuse to start beside the other long job (see above)
  if pgrep -f "$1" > /dev/null; then echo "$2 is running: rerun this when it has finished"; exit 0; fi
}
if [ "$which" != model ]; then
  busy 'vall_e.train --yaml configs/default.yaml' "the AR+NAR training"
  start codec vall_e.codecs.train python -m vall_e.codecs.train --yaml configs/codec/mel50.yaml
fi
[ "$which" = codec ] && exit 0
busy vall_e.codecs.train "the codec training"
if [ ! -d runs/default-data ] || [ ! -f runs/codec/mel50/codec/model.safetensors ]; then
  echo "prepare the data once the codec has exported (its codes depend only on the k-means stage):"
  echo "  python -m vall_e.data prepare --yaml configs/default.yaml --input runs/corpus/v1/train --output runs/default-data"
  exit 0
fi
if pgrep -f 'vall_e.train --yaml configs/default.yaml' > /dev/null; then
  echo "default-train: already running"; exit 0  # before preparing: its shards are being read
fi
if [ -d runs/corpus/extra/train ]; then
  # adds only the items not prepared yet; --retry-failed because an item the corpus job was
  # writing at that moment (wav made, txt not yet) is recorded as failed
  python -m vall_e.data prepare --yaml configs/default.yaml --input runs/corpus/extra/train \
    --output runs/default-data --retry-failed --quiet
fi
if pgrep -f vall_e.data.corpus > /dev/null; then export OMP_NUM_THREADS=1; fi  # see above
if [ -f runs/default/lightning/last.ckpt ]; then
  start default-train 'vall_e.train --yaml configs/default.yaml' python -m vall_e.train --yaml configs/default.yaml --resume
else
  start default-train 'vall_e.train --yaml configs/default.yaml' python -m vall_e.train --yaml configs/default.yaml
fi
