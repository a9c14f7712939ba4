// cblas_sgemm throughput at a transformer's linear shapes (rows × dim ->
// dim and the FFN width): the machine's practical peak that MFU figures are
// ratios of, measured in the same run as the figure it divides.
#pragma once

#include <cstdint>

namespace blt::bench {

// GFLOP/s of y = x·Wᵀ at (rows, dim) × (dim -> dim), (dim -> ffn), (ffn -> dim).
double sgemm_gflops(int64_t rows, int64_t dim, int64_t ffn, double min_seconds);

}  // namespace blt::bench
