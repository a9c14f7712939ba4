// The core engine benchmark behind `blt bench core`: cblas_sgemm at the
// model's shapes (the machine's practical peak), our linear forward+backward,
// and tiled attention forward / forward+backward, all measured in one run and
// reported as GFLOP/s and as ratios of the sgemm figure.
#pragma once

#include <nlohmann/json.hpp>

namespace blt::bench {

struct CoreBenchOptions {
  int64_t tokens = 4096;      // rows of the linear shapes (B·T)
  int64_t dim = 512;          // model width
  int64_t attn_seq = 2048;    // attention sequence length
  int64_t attn_window = 512;  // causal sliding window
  int64_t head_dim = 64;
  int64_t heads = 8;
  double min_seconds = 1.0;   // per measurement
};

nlohmann::json run_core_bench(const CoreBenchOptions& opt);

}  // namespace blt::bench
