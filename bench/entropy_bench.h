// `blt bench entropy`: entropy-model speed for two sizes (dim 256 × 4 layers
// at seq 512, dim 512 × 8 layers at seq 1024): entropy computation and
// training-step bytes/s, and MFU = executed FLOP/s ÷ cblas_sgemm GFLOP/s
// measured in the same run at the model's shapes. With --precision bf16 both
// again in mixed precision (bf16 weight mirror, BF16 graphs): ratios to the
// fp32 figures of the same run, and MFU against the bf16 matmul peak.
#pragma once

#include <nlohmann/json.hpp>

#include "core/precision.h"

namespace blt::bench {

struct EntropyBenchOptions {
  int64_t batch = 4;          // rows per forward pass
  double min_seconds = 2.0;   // per measurement
  Precision precision = Precision::F32;  // BF16 adds the bf16 figures (the caller checked the CPU has them)
};

nlohmann::json run_entropy_bench(const EntropyBenchOptions& opt);

}  // namespace blt::bench
