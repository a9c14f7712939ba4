#!/usr/bin/env bash
# Data-parallel scaling on this machine: one process against `mpirun -np N` (one thread per rank), the same
# global batch (the single process accumulates N micro-batches), the same steps, measured in one run.
# Prints per model: bytes/s of each, their ratio (the speed-up; N is ideal), and the share of the
# ranks' step time spent moving gradients (metrics.jsonl "comm_share", rank 0).
#
#   bench/mpi_scaling.sh [BUILD_DIR] [RANKS] [STEPS]      (defaults: build, 2, 30)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build} ranks=${2:-2} steps=${3:-30}
blt="$build/blt"
[[ -x $blt ]] || { echo "error: $blt not found (build first)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "error: mpirun not found (scripts/setup.sh installs openmpi-bin)" >&2; exit 1; }
cores=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1

# mean of FIELD over the metrics lines after the first (warm-up) one
field() { python3 -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1])][1:]; print(sum(x.get(sys.argv[2],0) for x in l)/len(l))" "$1" "$2"; }

# name, command (train-entropy|train), config, per-rank batch, extra args
run() {
  local name=$1 cmd=$2 config=$3 batch=$4
  shift 4
  local common=("$cmd" --config "$config" --data data/sample/train.txt --steps "$steps" --log-every 5
                --eval-every 0 --save-every 0 --threads 1 "$@")
  "$blt" "${common[@]}" --out "$tmp/$name-1" --batch "$batch" --grad-accum "$ranks" 2>/dev/null
  mpirun --allow-run-as-root --oversubscribe -np "$ranks" -x OMP_NUM_THREADS=1 \
    "$blt" "${common[@]}" --out "$tmp/$name-n" --batch "$batch" 2>/dev/null
  local one n share
  one=$(field "$tmp/$name-1/metrics.jsonl" bytes_per_s)
  n=$(field "$tmp/$name-n/metrics.jsonl" bytes_per_s)
  share=$(field "$tmp/$name-n/metrics.jsonl" comm_share)
  printf '%-26s %12.0f %12.0f %8.2f %10.3f\n' "$name" "$one" "$n" "$(python3 -c "print($n/$one)")" "$share"
}

echo "$cores cores; 1 process vs $ranks ranks x 1 thread, global batch = $ranks micro-batches, $steps steps"
printf '%-26s %12s %12s %8s %10s\n' model "1 proc B/s" "$ranks ranks B/s" speedup comm_share
run "byte LM (entropy_tiny)" train-entropy configs/entropy_tiny.json 8
# The demo BLT with space patching (no entropy model to run first).
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); c['args']['patching_mode']='space'; json.dump(c, open(sys.argv[2],'w'))" \
  configs/blt_demo.json "$tmp/blt_space.json"
run "BLT (blt_demo, space)" train "$tmp/blt_space.json" 4
