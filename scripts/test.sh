#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: every GoogleTest binary
# through ctest, the layout check and the size limits (scripts/check_layout.sh,
# scripts/check_sizes.sh), then the parsers' and models' tests again under ASan+UBSan, and
# every fuzz target for a few seconds (scripts/fuzz.sh, when clang's libFuzzer is there).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hashes paths under the checkout relative, so every clone of the same tree shares one cache.
export CCACHE_BASEDIR="$PWD"
scripts/setup.sh
scripts/build.sh
(cd build && ctest --output-on-failure --parallel "$(nproc)" --timeout 600)

# The layout: which library may link which, includes to match, and `blt` built
# with tests and bench off (build-layout/, mostly ccache hits).
scripts/check_layout.sh --self-test >/dev/null
scripts/check_layout.sh

# Files and functions within their size limits.
scripts/check_sizes.sh --self-test >/dev/null
scripts/check_sizes.sh

# The loaders, config readers, patchers and models take untrusted input: run their tests and the
# fuzz regression replays (tests/fuzz) again in a sanitizer build (ASan + UBSan, float-cast-overflow
# included, no recovery). The tests take ~15 s there; the build is most of the cost (ccache helps),
# so it is -O1 without debug info (reports still name the functions: frame pointers are kept).
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DBLT_SANITIZE=ON \
  -DBLT_BUILD_BENCH=OFF -DBLT_WERROR=ON "${launcher[@]}" >/dev/null
asan_binaries=(test_core test_io test_data test_patching test_lm test_model test_modeldir)
cmake --build build-asan --parallel --target "${asan_binaries[@]}" fuzz_replay
asan_labels="^($(IFS='|'; echo "${asan_binaries[*]}")|fuzz_replay)\$"
(cd build-asan && ctest --output-on-failure --parallel "$(nproc)" --timeout 600 -L "$asan_labels")

# The libFuzzer targets for a few seconds each, as a smoke test (scripts/fuzz.sh; clang only).
probe=$(mktemp -d)
if echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
  clang++ -x c++ -fsanitize=fuzzer - -o "$probe/probe" 2>/dev/null; then
  scripts/fuzz.sh 2
else
  echo "note: no clang++ with libFuzzer: fuzz smoke test skipped" >&2
fi
rm -rf "$probe"
