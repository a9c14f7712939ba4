#!/usr/bin/env bash
# Configures and builds blt.cpp in build/ (Release, warnings are errors).
# Usage: scripts/build.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Paths under the checkout hash relative, so another clone of the same tree hits the same cache.
export CCACHE_BASEDIR="$PWD"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBLT_WERROR=ON "${launcher[@]}" "$@" >/dev/null
cmake --build build --parallel
