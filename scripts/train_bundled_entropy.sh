#!/usr/bin/env bash
# Retrains the bundled entropy model (models/entropy-kjv: ~1.8M parameters) on the
# bundled KJV sample and installs its params.json + model.safetensors. About 15
# minutes on 2 cores. Usage: scripts/train_bundled_entropy.sh [extra train-entropy flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
run=runs/entropy-kjv
resume=()
[[ -f "$run/run.json" ]] && resume=(--resume)
build/blt train-entropy --config configs/entropy_kjv.json --data data/sample/train.txt --valid data/sample/valid.txt \
  --valid-bytes 0 --out "$run" "${resume[@]}" "$@"
mkdir -p models/entropy-kjv
cp "$run/params.json" "$run/model.safetensors" models/entropy-kjv/
echo "installed models/entropy-kjv (validation BPB: $(tail -n 1 "$run/metrics.jsonl"))"
