// exp_fast: accuracy against std::exp over the float range, and the special values.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/vec_math.h"

namespace blt::test {
namespace {

TEST(VecMath, ExpFastWithinFewUlps) {
  double worst = 0;
  for (float x = -103.0f; x < 88.7f; x += 0.0137f) {
    const double e = std::exp(static_cast<double>(x));
    if (e < 1.17549435e-38) continue;  // denormal results: checked in absolute terms below
    worst = std::max(worst, std::fabs(ops::exp_fast(x) - e) / e);
  }
  EXPECT_LT(worst, 4 * 5.96e-8);
  EXPECT_LT(std::fabs(ops::exp_fast(-100.0f) - std::exp(-100.0)), 1e-44);
}

TEST(VecMath, ExpFastSpecialValues) {
  EXPECT_EQ(ops::exp_fast(-INFINITY), 0.0f);
  EXPECT_EQ(ops::exp_fast(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(ops::exp_fast(NAN)));
  EXPECT_EQ(ops::exp_fast(0.0f), 1.0f);
  EXPECT_EQ(ops::exp_fast(-200.0f), 0.0f);
  EXPECT_EQ(ops::exp_fast(100.0f), INFINITY);
}

}  // namespace
}  // namespace blt::test
