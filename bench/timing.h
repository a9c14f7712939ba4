// Timing helper for benchmarks: runs a body repeatedly for at least a minimum
// time after one warm-up call and returns the best seconds per call (the
// least disturbed run on a shared machine).
#pragma once

#include <algorithm>
#include <chrono>
#include <limits>

namespace blt::bench {

template <class F>
double best_seconds(F&& body, double min_seconds) {
  using clock = std::chrono::steady_clock;
  body();  // warm-up: caches, thread pools, arena growth
  double best = std::numeric_limits<double>::infinity(), total = 0;
  int runs = 0;
  while (total < min_seconds || runs < 3) {
    const auto t0 = clock::now();
    body();
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
    ++runs;
  }
  return best;
}

}  // namespace blt::bench
