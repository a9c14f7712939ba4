// Self-attention key ranges: causal, sliding window, (local) block-causal.
#include "ops/mask.h"

#include <algorithm>

#include "core/error.h"

namespace blt::ops {

namespace {
void check_size(std::span<KeyRange> out, int64_t rows, int64_t T) {
  if (static_cast<int64_t>(out.size()) != rows * T)
    throw ShapeError("[mask] buffer of " + std::to_string(out.size()) + " ranges for (" + std::to_string(rows) + "," +
                     std::to_string(T) + ")");
}
}  // namespace

void causal_ranges(int64_t rows, int64_t T, std::optional<int64_t> window, std::span<KeyRange> out) {
  check_size(out, rows, T);
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t i = 0; i < T; ++i) {
      const int64_t lo = window ? std::max<int64_t>(0, i - *window + 1) : 0;
      out[b * T + i] = KeyRange{static_cast<int32_t>(lo), static_cast<int32_t>(i + 1)};
    }
}

void block_causal_ranges(std::span<const int32_t> tokens, int64_t B, int64_t T, int32_t eos_id,
                         std::optional<int64_t> window, std::span<KeyRange> out) {
  check_size(out, B, T);
  if (static_cast<int64_t>(tokens.size()) != B * T)
    throw ShapeError("[mask] " + std::to_string(tokens.size()) + " tokens for (" + std::to_string(B) + "," +
                     std::to_string(T) + ")");
  for (int64_t b = 0; b < B; ++b) {
    int64_t doc_start = 0;
    for (int64_t i = 0; i < T; ++i) {
      int64_t lo = doc_start;
      if (window) lo = std::max(lo, i - *window + 1);
      out[b * T + i] = KeyRange{static_cast<int32_t>(lo), static_cast<int32_t>(i + 1)};
      if (tokens[b * T + i] == eos_id) doc_start = i + 1;
    }
  }
}

}  // namespace blt::ops
