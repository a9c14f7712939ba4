// The test support itself: the comparison every oracle and gradient test goes
// through must fail on a NaN wherever it stands, not only in the last place.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(Support, MaxAbsDiffIsNaNWhereverANaNStands) {
  const std::vector<float> ref = {1, 2, 3, 4};
  for (size_t at = 0; at < ref.size(); ++at) {
    std::vector<float> got = ref;
    got[at] = std::nanf("");
    const Tensor a = Tensor::from(got, Shape{4}), b = Tensor::from(ref, Shape{4});
    EXPECT_TRUE(std::isnan(max_abs_diff(a, b))) << "NaN at " << at;
    EXPECT_FALSE(max_abs_diff(a, b) <= 1e-4) << "a NaN must fail a tolerance check (NaN at " << at << ")";
  }
}

TEST(Support, MaxAbsDiffIsTheLargestDifference) {
  const Tensor a = Tensor::from(std::vector<float>{1, 2, 3}, Shape{3});
  const Tensor b = Tensor::from(std::vector<float>{1, 2.5f, 2}, Shape{3});
  EXPECT_DOUBLE_EQ(max_abs_diff(a, b), 1.0);
}

// A table of 1000 rows where one id touched row 7: the sampled entries are that row's (and one anywhere).
TEST(Support, GradcheckSamplesTouchedRows) {
  Tensor grad = Tensor::zeros(Shape{1000, 4}, DType::F64);
  for (int64_t d = 0; d < 4; ++d) grad.data<double>()[7 * 4 + d] = 0.5;
  Rng rng(3);
  const auto picked = sample_entries(grad, 16, rng);
  ASSERT_EQ(picked.size(), 16u);
  for (size_t i = 0; i + 1 < picked.size(); ++i) EXPECT_EQ(picked[i] / 4, 7) << "entry " << picked[i];
  const auto all = sample_entries(grad.view().slice(0, 2), 16, rng);  // 8 entries: all of them
  EXPECT_EQ(all, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

}  // namespace
}  // namespace blt::test
