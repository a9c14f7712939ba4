#!/usr/bin/env bash
# Checks the source layout: which of our libraries may link (directly or
# transitively) which, and which src/ folders a file may #include from.
#
#   scripts/check_layout.sh              configure build-layout/, check, build `blt` there
#   scripts/check_layout.sh --self-test  feed the checker synthetic graphs that must fail
#
# What it does:
#  1. Configures build-layout/ (Release, warnings are errors, tests and bench OFF,
#     ccache) and writes the link graph with `cmake --graphviz` (build-layout/graph/).
#  2. Checks every blt_* library in that graph against RULES below, following
#     links transitively; a violation names the offending edge and the path.
#     A blt_* library missing from RULES fails ("add it to the rules"), and so
#     does a src/ folder without a row, so the table stays complete.
#  3. Checks the #include lines of src/<folder>/*: `#include "<other>/..."` is
#     allowed only when RULES let blt_<folder> reach blt_<other> (link rules
#     alone miss a header-only use), and only when blt_<folder> does link
#     blt_<other> (else the dependency is missing from its CMakeLists.txt).
#  4. Builds only the `blt` target in build-layout/: `blt` builds with tests and
#     benchmarks off. With ccache and a Release build in build/ this is mostly
#     cache hits (the line printed says how many).
# Exit status: 0 when all holds, 1 on a violation or a failed build, 2 on bad input.
set -euo pipefail
cd "$(dirname "$0")/.."

# The rules. One row per library (the blt_ prefix is implied):
#   only  LIBS   it may link these of our libraries and no other ("-": none)
#   never LIBS   it must not link any of these (directly or transitively)
#   any          no restriction beyond "no link cycles" (top-level users)
#   flags        a build-settings target (compile flags, a third-party dependency):
#                anyone may link it, and it links none of our libraries
# A library reaching itself (a link cycle) is always a violation.
# The text after | is printed with a violation.
RULES='
# library      kind   libraries                                        | why
core           only   -                                                | the base links none of our libraries
blas           only   core                                             | the GEMM wrapper sits on core
ops            only   core blas                                        | ops never see modules (nn)
nn             only   core blas ops io                                 | modules over ops; parameters saved with io
io             only   core                                             | file formats know tensors only
data           only   core io                                          | tokenizers and corpora
lm             never  model train pipeline                             | nothing below the BLT network reaches it; inference never links the trainer
patching       never  model train pipeline                             | nothing below the BLT network reaches it; inference never links the trainer
model          never  modeldir eval generate train pipeline            | the network only: no model directories, evaluation, generation or training
modeldir       never  train pipeline                                   | inference never links the trainer
eval           never  train pipeline                                   | inference never links the trainer
generate       never  train pipeline                                   | inference never links the trainer
serve          never  train pipeline                                   | inference never links the trainer
dist           only   core                                             | the process group (MPI) knows bytes and floats only
train          never  lm patching model modeldir eval generate serve pipeline experiment | the trainer is generic: modules, data and optimizer only
pipeline       any                                                     | the training tasks: the one library that links train
experiment     any                                                     | `blt experiment`: with pipeline, the code that may depend on the trainer
bench          any                                                     | bench/ (BLT_BUILD_BENCH), benchmarks over everything
test_support   any                                                     | tests/support (BLT_BUILD_TESTS), test helpers
flags          flags
blas_dep       flags
'

checker=scripts/layout_rules.py
rules_file=$(mktemp)
tmp_dirs=("$rules_file")
trap 'rm -rf "${tmp_dirs[@]}"' EXIT
printf '%s\n' "$RULES" >"$rules_file"

# check DOT [SRC]: runs the checker; prints its output; returns its status.
check() {
  local args=(--rules "$rules_file" --dot "$1")
  [[ $# -gt 1 ]] && args+=(--src "$2")
  python3 "$checker" "${args[@]}"
}

# A CMake-style graphviz file from "from to" lines on stdin (only what the checker reads).
synthetic_dot() {
  awk 'BEGIN { print "digraph \"blt_cpp\" {" }
       { for (i = 1; i <= 2; i++) if (!($i in id)) { id[$i] = n++; printf "    \"node%d\" [ label = \"%s\", shape = octagon ];\n", id[$i], $i }
         printf "    \"node%d\" -> \"node%d\"  // %s -> %s\n", id[$1], id[$2], $1, $2 }
       END { print "}" }'
}

self_test() {
  local dir failures=0
  dir=$(mktemp -d)
  tmp_dirs+=("$dir")
  # The current layout (as CMake links it), which must pass.
  local good='blt_blas blt_core
blt_blas blt_blas_dep
blt_ops blt_blas
blt_nn blt_ops
blt_nn blt_io
blt_io blt_core
blt_data blt_io
blt_lm blt_nn
blt_patching blt_lm
blt_patching blt_ops
blt_model blt_patching
blt_model blt_nn
blt_modeldir blt_model
blt_eval blt_modeldir
blt_eval blt_data
blt_generate blt_modeldir
blt_train blt_nn
blt_train blt_data
blt_pipeline blt_train
blt_pipeline blt_eval
blt blt_pipeline
blt blt_generate
blt_core blt_flags'
  # tree NAME FILE=LINE...: a fresh src/ tree $dir/NAME/src with one #include per FILE.
  tree() {
    local root="$dir/$1/src" spec
    shift
    mkdir -p "$root/core" "$root/ops" "$root/nn"
    for spec in "$@"; do
      mkdir -p "$root/$(dirname "${spec%%=*}")"
      printf '%s\n' "${spec#*=}" >>"$root/${spec%%=*}"
    done
    echo "$root"
  }

  # expect NAME STATUS PATTERN DOT [SRC]: the checker exits STATUS and prints PATTERN.
  expect() {
    local name=$1 status=$2 pattern=$3 out rc=0
    shift 3
    out=$(check "$@" 2>&1) || rc=$?
    if [[ $rc -eq $status ]] && grep -qF -- "$pattern" <<<"$out"; then
      echo "self-test: ok: $name"
    else
      echo "self-test: FAIL: $name (exit $rc, expected $status and \"$pattern\"):" >&2
      sed 's/^/    /' <<<"$out" >&2
      failures=$((failures + 1))
    fi
  }
  synthetic_dot <<<"$good" >"$dir/good.dot"
  local ok_src
  ok_src=$(tree ok 'ops/linear.cpp=#include "core/tensor.h"' 'ops/linear.cpp=#include <vector>' \
    'nn/linear.cpp=#include "ops/linear.h"' 'nn/linear.cpp=#include "io/file.h"' 'io/file.cpp=#include "core/x.h"')
  expect "the current layout passes" 0 "14 libraries, 0 violations" "$dir/good.dot" "$ok_src"
  synthetic_dot <<<"$good"$'\nblt_eval blt_train' >"$dir/eval_train.dot"
  expect "a direct forbidden edge" 1 "blt_eval links blt_train: offending edge blt_eval -> blt_train" \
    "$dir/eval_train.dot"
  synthetic_dot <<<"$good"$'\nblt_modeldir blt_pipeline' >"$dir/generate_train.dot"
  expect "a transitive forbidden edge" 1 \
    "blt_generate reaches blt_train: offending edge blt_generate -> blt_modeldir (path blt_generate -> blt_modeldir -> blt_pipeline -> blt_train)" \
    "$dir/generate_train.dot"
  synthetic_dot <<<"$good"$'\nblt_patching blt_model' >"$dir/cycle.dot"
  expect "a library below model reaching model" 1 "blt_patching links blt_model" "$dir/cycle.dot"
  expect "a link cycle" 1 "blt_model reaches blt_model" "$dir/cycle.dot"
  synthetic_dot <<<"$good"$'\nblt_ops blt_nn' >"$dir/ops_nn.dot"
  expect "ops reaching nn" 1 "blt_ops links blt_nn" "$dir/ops_nn.dot"
  synthetic_dot <<<"$good"$'\nblt_train blt_model' >"$dir/train_model.dot"
  expect "a trainer that is not generic" 1 "blt_train links blt_model" "$dir/train_model.dot"
  synthetic_dot <<<"$good"$'\nblt_serve blt_generate\nblt_serve blt_pipeline' >"$dir/serve.dot"
  expect "the server linking the trainer" 1 "blt_serve reaches blt_train" "$dir/serve.dot"
  synthetic_dot <<<"$good"$'\nblt_cache blt_core' >"$dir/unknown.dot"
  expect "an unknown library" 1 "unknown library blt_cache in the link graph: add it to the rules" "$dir/unknown.dot"
  expect "an include of a folder the library must not reach" 1 \
    'src/ops/linear.cpp:2: includes "nn/linear.h"; blt_ops may link only blt_blas, blt_core' "$dir/good.dot" \
    "$(tree up 'ops/linear.cpp=#include "core/tensor.h"' 'ops/linear.cpp=#include "nn/linear.h"')"
  expect "a relative include" 1 'src/ops/linear.cpp:1: includes "../nn/linear.h"; blt_ops may link only' \
    "$dir/good.dot" "$(tree relative 'ops/linear.cpp=#include "../nn/linear.h"')"
  synthetic_dot <<<"${good/blt_nn blt_io$'\n'/}" >"$dir/no_nn_io.dot"
  expect "an include of a folder the library does not link" 1 \
    'src/nn/linear.cpp:2: includes "io/file.h" but blt_nn does not link blt_io' "$dir/no_nn_io.dot" "$ok_src"
  expect "a src folder without a rule" 1 "src/cache/: no rule for blt_cache" "$dir/good.dot" \
    "$(tree cache 'cache/cache.cpp=#include "core/tensor.h"')"
  printf 'digraph "blt_cpp" {\n}\n' >"$dir/empty.dot"
  expect "a graph with no targets" 2 "no targets found" "$dir/empty.dot"
  if [[ $failures -ne 0 ]]; then
    echo "layout: self-test FAILED ($failures cases)" >&2
    return 1
  fi
  echo "layout: self-test passed (the checker catches every forbidden case above)"
}

if [[ ${1:-} == --self-test ]]; then
  self_test
  exit
elif [[ $# -ne 0 ]]; then
  echo "usage: scripts/check_layout.sh [--self-test]" >&2
  exit 2
fi

build="build-layout"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR="$PWD"  # as scripts/build.sh: the same compiles hit the same cache entries
rm -rf "$build/graph"
mkdir -p "$build/graph"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBLT_WERROR=ON -DBLT_BUILD_TESTS=OFF \
  -DBLT_BUILD_BENCH=OFF "${launcher[@]}" --graphviz="$build/graph/blt.dot" >/dev/null

if ! result=$(check "$build/graph/blt.dot" src); then
  printf '%s\n' "$result" >&2
  echo "layout: FAILED (the rules are in scripts/check_layout.sh; graph: $build/graph/blt.dot)" >&2
  exit 1
fi

# Build only `blt`; ccache's stats log counts this build's compiles and hits.
stats_log="$build/ccache-stats.log"
rm -f "$stats_log"
start=$SECONDS
if ! CCACHE_STATSLOG="$PWD/$stats_log" cmake --build "$build" --parallel --target blt >"$build/build.log" 2>&1; then
  tail -n 40 "$build/build.log" >&2
  echo "layout: FAILED: blt does not build with tests and bench off (log: $build/build.log)" >&2
  exit 1
fi
cache=", nothing to compile"
if [[ -s $stats_log ]]; then
  hits=$(grep -cE '^(direct|preprocessed)_cache_hit$' "$stats_log" || true)
  compiles=$(grep -cE '^(direct_cache_hit|preprocessed_cache_hit|cache_miss)$' "$stats_log" || true)
  cache=", $hits/$compiles compiles from ccache"
fi
echo "layout: ${result##*$'\n'}; blt builds with tests and bench off ($((SECONDS - start)) s$cache)"
