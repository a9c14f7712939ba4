#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: every GoogleTest binary
# through ctest, the layout check and the size limits (scripts/check_layout.sh,
# scripts/check_sizes.sh), then the file-format loaders again under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
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

# The loaders parse untrusted files: run their tests in a sanitizer build too.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBLT_SANITIZE=ON -DBLT_BUILD_BENCH=OFF \
  -DBLT_WERROR=ON "${launcher[@]}" >/dev/null
cmake --build build-asan --parallel --target test_io
(cd build-asan && ctest --output-on-failure --parallel "$(nproc)" --timeout 600 -R '^(Safetensors|Pth)')
