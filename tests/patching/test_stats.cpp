// Patch length statistics: count, mean, median, min, max, the histogram
// buckets (1..16, 17-32, 33-64, 65+), zero-length padding skipped, negative
// lengths rejected, and the text summary.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "patching/stats.h"

namespace blt::test {
namespace {

TEST(PatchStats, NumbersAndHistogram) {
  const std::vector<int32_t> l = {1, 1, 1, 1, 1, 15, 3, 3, 1, 1,  3,  12, 1,
                                  1, 1, 1, 1, 5, 5,  1, 2, 1, 20, 40, 70};
  const auto s = patching::patch_stats(l);
  EXPECT_EQ(s.n_patches, 25);
  int64_t sum = 0;
  for (int32_t v : l) sum += v;
  EXPECT_EQ(s.n_positions, sum);
  EXPECT_DOUBLE_EQ(s.mean, static_cast<double>(sum) / 25);
  EXPECT_DOUBLE_EQ(s.median, 1);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 70);
  ASSERT_EQ(s.histogram.size(), 19u);
  EXPECT_EQ(s.histogram[0].count, 14);  // length 1
  EXPECT_EQ(s.histogram[2].count, 3);   // length 3
  EXPECT_EQ(s.histogram[14].count, 1);  // length 15
  EXPECT_EQ(s.histogram[16].count, 1);  // 17-32
  EXPECT_EQ(s.histogram[17].count, 1);  // 33-64
  EXPECT_EQ(s.histogram[18].count, 1);  // 65+
  int64_t total = 0;
  for (const auto& b : s.histogram) total += b.count;
  EXPECT_EQ(total, s.n_patches);
  const std::string text = patching::format_patch_stats(s);
  EXPECT_NE(text.find("patches 25"), std::string::npos) << text;
  EXPECT_NE(text.find("65+"), std::string::npos) << text;
}

TEST(PatchStats, PaddingSkippedEvenMedianAndErrors) {
  const auto s = patching::patch_stats(std::vector<std::vector<int32_t>>{{1, 4, 0}, {1, 2, 6}});
  EXPECT_EQ(s.n_patches, 5);
  EXPECT_DOUBLE_EQ(s.median, 2);
  const auto e = patching::patch_stats(std::vector<int32_t>{2, 4});
  EXPECT_DOUBLE_EQ(e.median, 3);
  const auto none = patching::patch_stats(std::vector<int32_t>{});
  EXPECT_EQ(none.n_patches, 0);
  EXPECT_NO_THROW(patching::format_patch_stats(none));
  EXPECT_THROW(patching::patch_stats(std::vector<int32_t>{1, -1}), ShapeError);
}

}  // namespace
}  // namespace blt::test
