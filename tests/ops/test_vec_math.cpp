// exp_fast: accuracy against std::exp over the float range, and the special values; exp2_for_bf16 (the
// bf16 attention kernels' short exp2) within the 2⁻¹⁸ their tests assume, and zero where it must be.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "blas/cpu_features.h"
#include "ops/attention_bf16.h"
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

// exp2_for_bf16 of 16 values at a time.
BLT_AVX512_BF16 std::vector<float> exp2_for_bf16_of(const std::vector<float>& t) {
  std::vector<float> y(t.size());
  for (size_t i = 0; i + 16 <= t.size(); i += 16)
    _mm512_storeu_ps(y.data() + i, ops::detail::exp2_for_bf16(_mm512_loadu_ps(t.data() + i)));
  return y;
}

TEST(VecMath, Exp2ForBf16WithinItsBoundAndZeroBelow) {
  if (!blas::cpu_has_avx512_bf16())
    GTEST_SKIP() << "no AVX512-BF16: the bf16 attention kernels' exp2 does not run here";
  std::vector<float> t;
  for (float x = -125.9f; x <= 12.f; x += 0.00731f) t.push_back(x);
  while (t.size() % 16) t.push_back(0.f);
  const std::vector<float> y = exp2_for_bf16_of(t);
  double worst = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const double e = std::exp2(static_cast<double>(t[i]));
    worst = std::max(worst, std::fabs(y[i] - e) / e);
  }
  EXPECT_LT(worst, std::ldexp(1.0, -18));
  // at and below −126, −inf (a masked score) and NaN: exactly 0
  const std::vector<float> zero_at = {-126.f,    -126.5f, -127.f, -1000.f,   -1e30f, -INFINITY,
                                      NAN,       -NAN,    -126.f, -130.f,    -200.f, -3e38f,
                                      -INFINITY, -150.f,  -128.f, -126.0001f};
  for (float v : exp2_for_bf16_of(zero_at)) EXPECT_EQ(v, 0.f);
}

}  // namespace
}  // namespace blt::test
