// Builders of per-query key ranges [lo, hi) for ops::attention's self-attention
// masks. Documents end at their EOS (the EOS belongs to the document before it),
// and a window of w keeps keys i-w+1 .. i: w keys including the query itself
// (xformers' local attention, used by the reference's local_block_causal).
// Builders write into a caller's buffer (e.g. the step arena); the
// vector-returning forms are conveniences for tests and tools.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ops/attention.h"

namespace blt::ops {

// Causal over T positions, optionally limited to a window of w keys, for each of `rows` rows: out (rows·T).
void causal_ranges(int64_t rows, int64_t T, std::optional<int64_t> window, std::span<KeyRange> out);

// Block-causal over rows of tokens: a query sees the keys of its own document up to
// itself, within the window if given. tokens (B,T) -> out (B·T).
void block_causal_ranges(std::span<const int32_t> tokens, int64_t B, int64_t T, int32_t eos_id,
                         std::optional<int64_t> window, std::span<KeyRange> out);

inline std::vector<KeyRange> causal_ranges(int64_t T, std::optional<int64_t> window = std::nullopt) {
  std::vector<KeyRange> r(T);
  causal_ranges(1, T, window, r);
  return r;
}

inline std::vector<KeyRange> block_causal_ranges(std::span<const int32_t> tokens, int64_t B, int64_t T, int32_t eos_id,
                                                 std::optional<int64_t> window = std::nullopt) {
  std::vector<KeyRange> r(B * T);
  block_causal_ranges(tokens, B, T, eos_id, window, r);
  return r;
}

}  // namespace blt::ops
