// Analytic FLOPs per byte of a BLT (DESIGN.md §5): lookups are free, a linear
// layer costs 2·in·out per position, attention 2·2·(H·Dh)·m per position and
// layer for m attended keys (window, causal prefix or patch span), training
// = 3 × forward. Per byte = encoder + decoder + cross attentions + (global +
// per-patch projections) / mean patch size (+ the entropy model when patching
// is counted). The components carry the names the executed counter uses.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "lm/lm_args.h"
#include "model/blt_args.h"

namespace blt::eval {

struct FlopEstimate {
  std::map<std::string, double> per_byte;  // forward FLOPs per byte by component
  double total() const;                    // Σ over components
};

// Forward FLOPs per byte for sequences of seq_len bytes cut into patches of mean_patch_size bytes;
// `entropy` adds the entropy model (component "entropy_model").
FlopEstimate blt_flops(const model::BltArgs& a, double mean_patch_size, int64_t seq_len,
                       const std::optional<lm::LMTransformerArgs>& entropy = std::nullopt);

// Forward FLOPs per token of a plain LMTransformer over sequences of seq_len tokens.
double lm_flops_per_token(const lm::LMTransformerArgs& a, int64_t seq_len);

}  // namespace blt::eval
