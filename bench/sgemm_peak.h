// cblas_sgemm throughput at a transformer's linear shapes (rows × dim ->
// dim and the FFN width): the machine's practical peak that MFU figures are
// ratios of, measured in the same run as the figure it divides. The loop over
// those shapes is shared with the bf16 peak (bf16_peak.h).
#pragma once

#include <cstdint>
#include <utility>

#include "bench/timing.h"

namespace blt::bench {

// GFLOP/s of y = x·Wᵀ at (rows, dim) × (dim -> dim), (dim -> ffn), (ffn -> dim).
double sgemm_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds);

// GFLOP/s over those three shapes of the product that make_call(in, out) sets up: it returns a
// callable computing y (rows, out) = x (rows, in)·Wᵀ once; each shape is timed for min_seconds / 3.
template <class MakeCall>
double linear_shapes_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds, MakeCall&& make_call) {
  double flops = 0, secs = 0;
  for (auto [in, out] : {std::pair{dim, dim}, std::pair{dim, ffn}, std::pair{ffn, dim}}) {
    auto call = make_call(in, out);
    secs += best_seconds(call, min_seconds / 3);
    flops += 2.0 * rows * in * out;
  }
  return flops / secs / 1e9;
}

}  // namespace blt::bench
