// Builders of per-query key ranges [lo, hi) for ops::attention's self-attention
// masks. Documents end at their EOS (the EOS belongs to the document before it),
// and a window of w keeps keys i-w+1 .. i: w keys including the query itself
// (xformers' local attention, used by the reference's local_block_causal).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ops/attention.h"

namespace blt::ops {

// Causal over T positions, optionally limited to a window of w keys: (T) ranges.
std::vector<KeyRange> causal_ranges(int64_t T, std::optional<int64_t> window = std::nullopt);

// Block-causal over rows of tokens: a query sees the keys of its own document up to
// itself, within the window if given. tokens (B,T) -> (B·T) ranges.
std::vector<KeyRange> block_causal_ranges(std::span<const int32_t> tokens, int64_t B, int64_t T, int32_t eos_id,
                                          std::optional<int64_t> window = std::nullopt);

}  // namespace blt::ops
