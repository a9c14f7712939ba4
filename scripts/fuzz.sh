#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, -DBLT_FUZZ=ON, in build-fuzz/) and runs
# each for SECONDS (default 60) under ASan+UBSan, with memory caps (-rss_limit_mb=2048,
# -malloc_limit_mb=1024). Prints per target the executions and the findings; a finding's
# input is copied to tests/fuzz/regressions/<target>/ (replayed by ctest FuzzReplay.<target>)
# and the script exits non-zero. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]; with
# BLT_FUZZ_RUNS=N a target also stops after N executions (the long campaign: N=1000000).
# Seeds: tests/fuzz/seeds/<target>/ plus what make_seeds builds from the fixtures; the
# corpus each run grows is kept in build-fuzz/corpus/<target>/ for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
build=${BLT_FUZZ_BUILD:-build-fuzz}
if (($# > 0)); then
  targets=("$@")
else
  targets=()
  for f in tests/fuzz/fuzz_*.cpp; do
    t=${f#tests/fuzz/fuzz_}
    targets+=("${t%.cpp}")
  done
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR="$PWD"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1" \
  -DCMAKE_CXX_COMPILER=clang++ -DBLT_FUZZ=ON -DBLT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target make_seeds "${targets[@]/#/fuzz_}" >/dev/null
rm -rf "$build/seeds"
"$build/tests/fuzz/make_seeds" . "$build/seeds"

# Readers that take paths write their inputs to a scratch folder: keep it in memory if we can.
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export OMP_NUM_THREADS=1  # one input at a time: spinning OpenMP workers only slow the loads down
found=0
printf '%-16s %12s %8s %9s\n' target executions seconds findings
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t" artifacts="$build/artifacts/$t" log="$build/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  rm -f "$artifacts"/*
  start=$SECONDS
  dirs=("$corpus")  # new inputs go to the first; libFuzzer refuses a missing one
  for d in "$build/seeds/$t" "tests/fuzz/seeds/$t" "tests/fuzz/regressions/$t"; do [[ -d $d ]] && dirs+=("$d"); done
  status=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -runs="${BLT_FUZZ_RUNS:--1}" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=30 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dirs[@]}" \
    >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  n=$(find "$artifacts" -type f | wc -l)
  if ((status != 0 && n == 0)); then n=1; fi  # died without leaving an input: still a finding
  printf '%-16s %12s %8s %9s\n' "$t" "${execs:-?}" $((SECONDS - start)) "$n"
  if ((n > 0)); then
    found=1
    mkdir -p "tests/fuzz/regressions/$t"
    cp "$artifacts"/* "tests/fuzz/regressions/$t/" 2>/dev/null || true
    echo "  finding(s) in $t: see $log; inputs copied to tests/fuzz/regressions/$t/" >&2
    grep -m3 -E 'ERROR|runtime error|terminate called|what\(\)' "$log" | sed 's/^/  /' >&2 || true
  fi
done
exit "$found"
