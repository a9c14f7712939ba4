// `blt bench blt`: BLT training-step and inference throughput (bytes/s, MFU
// = executed FLOP/s ÷ cblas_sgemm GFLOP/s measured in the same run) for a
// small default configuration (global 512 × 8 layers, local 256 × 1/4 layers,
// cross attention, hash n-grams), and the process's peak RSS after a
// training step at 4096-byte sequences, batch 4. With --precision bf16 the
// same step and forward again in mixed precision (bf16 weight mirror, BF16
// graphs), as ratios to the fp32 figures of the same run and as MFU against
// the bf16 matmul peak measured in it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/precision.h"
#include "model/blt_args.h"

namespace blt::bench {

struct BltBenchOptions {
  int64_t batch = 4;
  int64_t seq_len = 4096;    // bytes per row
  double min_seconds = 3.0;  // per measurement
  Precision precision = Precision::F32;  // BF16 adds the bf16 figures (the caller checked the CPU has them)
};

nlohmann::json run_blt_bench(const BltBenchOptions& opt);

// The benchmark BLT: global 512 × 8 layers, local 256 × 1/4, cross attention k=2, hash n-grams 3..8 (4096
// rows), rows of seq_len bytes, the given patching mode.
model::BltArgs blt_bench_args(int64_t seq_len, const std::string& patching_mode);

}  // namespace blt::bench
