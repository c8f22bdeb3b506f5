#!/usr/bin/env bash
# The whole path from scratch, for developers (the main job now uses the embedded default model):
# build the 2-layer test model from scratch (random-weight EnCodec + synthetic corpus, ~1-2 min
# on 2 CPU cores) and synthesize with it. It speaks noise: it proves the path, not the voice.
set -euo pipefail
cd "$(dirname "$0")/.."
python scripts/make_random_codec.py encodec runs/codecs/encodec-random >/dev/null
python -m vall_e.data synthetic --output runs/tiny-corpus --speakers 2 --utterances 8
python -m vall_e.data prepare --yaml configs/tiny.yaml --input runs/tiny-corpus --output runs/tiny-data --quiet
if [ -f runs/tiny/lightning/last.ckpt ]; then echo "runs/tiny exists: reusing it"; else
  python -m vall_e.train --yaml configs/tiny.yaml --data runs/tiny-data --quiet
fi
ref=$(ls runs/tiny-corpus/*/*.wav | head -n 1)
python -m vall_e "Hello there." "$ref" out.wav --yaml configs/tiny.yaml --seed 0
