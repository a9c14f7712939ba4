// Multi-threaded read bandwidth (see read_bandwidth.h). The buffer is filled
// by the threads that later read it (first touch: each page lands near its
// reader), and every pass checks its sum so that none is optimised away.
#include "bench/read_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "core/error.h"

namespace blt::bench {

namespace {

// Sum of x (n) over all threads, each reading its static share.
uint64_t parallel_sum(const uint64_t* x, int64_t n) {
  uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

}  // namespace

double read_bandwidth_gb_s(const ReadBandwidthOptions& opt) {
  const int64_t n = opt.bytes / static_cast<int64_t>(sizeof(uint64_t));
  if (n < 1 || opt.passes < 1)
    throw ConfigError("read bandwidth: needs at least 8 bytes and 1 pass (got " + std::to_string(opt.bytes) +
                      " bytes, " + std::to_string(opt.passes) + " passes)");
  auto buf = std::make_unique_for_overwrite<uint64_t[]>(static_cast<size_t>(n));
  uint64_t* x = buf.get();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = 1;
  BLT_ASSERT(parallel_sum(x, n) == static_cast<uint64_t>(n));
  double best = 1e300;
  for (int p = 0; p < opt.passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t sum = parallel_sum(x, n);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    BLT_ASSERT(sum == static_cast<uint64_t>(n));
  }
  return static_cast<double>(n) * sizeof(uint64_t) / best / 1e9;
}

}  // namespace blt::bench
