#!/usr/bin/env bash
# Installs the Debian packages blt.cpp builds against, if any is missing.
# Idempotent and silent when everything is already there. Nothing else is
# downloaded, at setup, build or run time.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libopenblas-openmp-dev     # CBLAS, OpenMP build (BLAS calls inside our parallel regions stay single-threaded)
  libdnnl-dev ocl-icd-opencl-dev # oneDNN: bf16 matmuls on AMX/AVX512-BF16 (its CMake config needs OpenCL's)
  nlohmann-json3-dev         # JSON configs, safetensors headers
  libcli11-dev               # command line
  libgtest-dev libgmock-dev  # tests
  libzstd-dev                # .zst corpora
  libsentencepiece-dev       # BPE-delimited patching and the BPE baseline
  clang libclang-rt-14-dev   # the libFuzzer targets (scripts/fuzz.sh, tests/fuzz)
  libcpp-httplib-dev         # blt serve
  libopenmpi-dev openmpi-bin # data-parallel training under mpirun
  chromium chromium-driver   # the served page's browser test (headless, through WebDriver)
)

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
