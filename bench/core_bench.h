// The core engine benchmark behind `blt bench core`: cblas_sgemm at the
// model's shapes (the machine's practical peak), our linear forward+backward,
// and tiled attention forward / forward+backward, all measured in one run and
// reported as GFLOP/s and as ratios of the sgemm figure. With --precision bf16
// also the bf16 matmul peak (oneDNN) at the same shapes, and oneDNN's f32 matmul, and attention
// with bf16 products (forward, forward+backward) as GFLOP/s and as ratios of that peak.
#pragma once

#include <nlohmann/json.hpp>

#include "core/precision.h"

namespace blt::bench {

struct CoreBenchOptions {
  int64_t tokens = 4096;      // rows of the linear shapes (B·T)
  int64_t dim = 512;          // model width
  int64_t attn_seq = 2048;    // attention sequence length
  int64_t attn_window = 512;  // causal sliding window
  int64_t head_dim = 64;
  int64_t heads = 8;
  double min_seconds = 1.0;   // per measurement
  Precision precision = Precision::F32;  // BF16 adds the bf16 figures (the caller checked the CPU has them)
};

nlohmann::json run_core_bench(const CoreBenchOptions& opt);

}  // namespace blt::bench
