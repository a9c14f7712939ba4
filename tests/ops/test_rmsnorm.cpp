// rmsnorm: values against the formula, gradients against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/rmsnorm.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(RMSNorm, MatchesFormula) {
  Tensor x = random_tensor(Shape{3, 5}, 1), w = random_tensor(Shape{5}, 2);
  Graph g;
  Var y = ops::rmsnorm(g, Graph::constant(x), Graph::constant(w), 1e-5);
  for (int64_t i = 0; i < 3; ++i) {
    double ss = 0;
    for (int64_t d = 0; d < 5; ++d) ss += x.at(i * 5 + d) * x.at(i * 5 + d);
    const double r = 1 / std::sqrt(ss / 5 + 1e-5);
    for (int64_t d = 0; d < 5; ++d) EXPECT_NEAR(y.value.at(i * 5 + d), x.at(i * 5 + d) * r * w.at(d), 1e-12);
  }
}

TEST(RMSNorm, GradCheck) {
  for (Shape s : {Shape{1, 1}, Shape{4, 7}, Shape{2, 3, 33}, Shape{300, 6}}) {
    gradcheck("rmsnorm " + s.str(), {random_tensor(s, 3), random_tensor(Shape{s.last()}, 4)},
              [](Graph& g, const std::vector<Var>& in) { return ops::rmsnorm(g, in[0], in[1], 1e-5); });
  }
}

TEST(RMSNorm, ShapeErrorMessage) {
  Tensor x = Tensor::zeros(Shape{2, 7, 64}), w = Tensor::zeros(Shape{32});
  Graph g;
  try {
    ops::rmsnorm(g, Graph::constant(x), Graph::constant(w), 1e-5);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "[rmsnorm] x (2,7,64) vs weight (32)");
  }
}

}  // namespace
}  // namespace blt::test
