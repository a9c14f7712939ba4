// Memory read bandwidth: every OpenMP thread sums its static share of one
// buffer much larger than the last-level cache (1 GiB by default against
// tens of MiB), best of a few passes: the rate a memory-bound generation step
// can read its weights at, the denominator of bench generate's bound.
#pragma once

#include <cstdint>

namespace blt::bench {

struct ReadBandwidthOptions {
  int64_t bytes = int64_t{1} << 30;  // buffer size (rounded down to 8 bytes)
  int passes = 5;                    // timed passes after one untimed pass (best taken)
};

// GB/s (1e9 bytes per second) of the best pass.
double read_bandwidth_gb_s(const ReadBandwidthOptions& opt = {});

}  // namespace blt::bench
