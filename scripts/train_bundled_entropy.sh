#!/usr/bin/env bash
# Retrains the bundled entropy model (models/entropy-kjv: 1.7M parameters) on the
# bundled KJV sample, installs its params.json + model.safetensors, and calibrates its
# threshold to a mean patch size of 4.5 bytes. About 15 minutes on 2 cores.
# Usage: scripts/train_bundled_entropy.sh [extra train-entropy flags]
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
# Calibrate the global threshold to a mean patch size of 4.5 bytes on 20 kB of the validation split.
head -c 20000 data/sample/valid.txt > "$run/calibration.txt"
build/blt patch --model models/entropy-kjv --target-patch-size 4.5 --save-threshold "$run/calibration.txt" \
  --format jsonl >/dev/null
bpb=$(grep -o "\"valid_bpb\":[0-9.]*" "$run/metrics.jsonl" | tail -n 1 | cut -d: -f2)
echo "installed models/entropy-kjv (validation bits per byte: $bpb)"
