// Mask builders against brute-force definitions of the reference masks.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "ops/mask.h"

namespace blt::test {
namespace {

// xformers local_block_causal: same document (ends at and including EOS), causal, |i-j| < w.
bool allowed(const std::vector<int32_t>& tok, int64_t i, int64_t j, std::optional<int64_t> w) {
  if (j > i) return false;
  if (w && i - j >= *w) return false;
  for (int64_t k = j; k < i; ++k)
    if (tok[k] == 2) return false;  // an EOS between j (inclusive) and i (exclusive) separates documents
  return true;
}

TEST(Mask, BlockCausalMatchesBruteForce) {
  Rng rng(3);
  const int64_t T = 64;
  std::vector<int32_t> tok(2 * T);
  for (auto& t : tok) t = rng.below(6) == 0 ? 2 : 7;
  for (std::optional<int64_t> w : {std::optional<int64_t>{}, std::optional<int64_t>{1}, std::optional<int64_t>{5}}) {
    auto r = ops::block_causal_ranges(tok, 2, T, 2, w);
    for (int64_t b = 0; b < 2; ++b) {
      std::vector<int32_t> row(tok.begin() + b * T, tok.begin() + (b + 1) * T);
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < T; ++j) {
          const bool in = j >= r[b * T + i].lo && j < r[b * T + i].hi;
          ASSERT_EQ(in, allowed(row, i, j, w)) << "b=" << b << " i=" << i << " j=" << j;
        }
    }
  }
}

TEST(Mask, WindowCountsTheQueryItself) {
  auto r = ops::causal_ranges(10, 3);
  EXPECT_EQ(r[9].lo, 7);
  EXPECT_EQ(r[9].hi, 10);
  EXPECT_EQ(r[0].lo, 0);
  EXPECT_EQ(r[0].hi, 1);
}

}  // namespace
}  // namespace blt::test
