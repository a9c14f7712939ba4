#!/usr/bin/env bash
# Checks sizes in src/: a file has at most 400 lines, a function at most 80.
# A function may be longer when the line just above it (its head comment) says
# why, after the word "long:", e.g.
#     // long: a flat list of fields reads best in one place
#     BltArgs parse_blt_args(const nlohmann::json& obj, const std::string& where) {
# A function is counted from its first line (a `template <...>` line included) to
# its closing brace; lambdas inside it are part of it. The C++ reading is a
# heuristic (scripts/check_sizes.py says which); tools/, tests/ and bench/ are not
# checked.
#
#   scripts/check_sizes.sh              check src/
#   scripts/check_sizes.sh --self-test  check that the checker fails where it must
# Exit status: 0 when all holds, 1 when something is over a limit (each named by path:line).
set -euo pipefail
cd "$(dirname "$0")/.."
checker=scripts/check_sizes.py

self_test() {
  local failures=0 out rc
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  # body N: the rest of an N-line function after its head line, the closing brace included.
  body() { for ((k = 2; k < $1; k++)); do echo "  x += $k;"; done; echo "}"; }
  { echo "namespace a {"; echo "int ok(int x) {"; body 80; echo "}"; } >"$dir/ok80.cpp"
  { echo "struct S {"; echo "  int f(int x) const {"; body 81; echo "};"; } >"$dir/long81.h"
  { echo "// long: one table of cases reads best in one place"; echo "template <typename T>"; echo "T g(T x) {";
    body 80; } >"$dir/excused.cpp"
  { echo "// long:"; echo "void h() {"; body 81; } >"$dir/no_reason.cpp"
  for ((k = 0; k < 401; k++)); do echo "// $k"; done >"$dir/big.cpp"
  # expect NAME STATUS PATTERN FILE: the checker exits STATUS and prints PATTERN.
  expect() {
    rc=0
    out=$(python3 "$checker" "$4" 2>&1) || rc=$?
    if [[ $rc -eq $2 ]] && grep -qF -- "$3" <<<"$out"; then
      echo "self-test: ok: $1"
    else
      echo "self-test: FAIL: $1 (exit $rc, expected $2 and \"$3\"):" >&2
      sed 's/^/    /' <<<"$out" >&2
      failures=$((failures + 1))
    fi
  }
  expect "an 80-line function passes" 0 "1 functions, 0 over the limits" "$dir/ok80.cpp"
  expect "an 81-line member function fails" 1 "$dir/long81.h:2: f is 81 lines, more than 80" "$dir/long81.h"
  expect "a long: comment with a reason excuses it" 0 "0 over the limits" "$dir/excused.cpp"
  expect "long: without a reason does not" 1 "$dir/no_reason.cpp:2: h is 81 lines" "$dir/no_reason.cpp"
  expect "a 401-line file fails" 1 "$dir/big.cpp: 401 lines, more than 400" "$dir/big.cpp"
  if [[ $failures -ne 0 ]]; then
    echo "sizes: self-test FAILED ($failures cases)" >&2
    return 1
  fi
  echo "sizes: self-test passed"
}

case "${1:-}" in
  --self-test) self_test ;;
  "")
    if ! out=$(python3 "$checker" src); then
      printf '%s\n' "$out" >&2
      echo "sizes: FAILED (limits in scripts/check_sizes.sh)" >&2
      exit 1
    fi
    printf '%s\n' "$out"
    ;;
  *)
    echo "usage: scripts/check_sizes.sh [--self-test]" >&2
    exit 2
    ;;
esac
