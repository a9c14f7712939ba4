// The test support itself: the comparison every oracle and gradient test goes
// through must fail on a NaN wherever it stands, not only in the last place.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

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

}  // namespace
}  // namespace blt::test
