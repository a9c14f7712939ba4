// `blt bench entropy`: entropy-model speed for two sizes (dim 256 × 4 layers
// at seq 512, dim 512 × 8 layers at seq 1024): entropy computation and
// training-step bytes/s, and MFU = executed FLOP/s ÷ cblas_sgemm GFLOP/s
// measured in the same run at the model's shapes.
#pragma once

#include <nlohmann/json.hpp>

namespace blt::bench {

struct EntropyBenchOptions {
  int64_t batch = 4;          // rows per forward pass
  double min_seconds = 2.0;   // per measurement
};

nlohmann::json run_entropy_bench(const EntropyBenchOptions& opt);

}  // namespace blt::bench
