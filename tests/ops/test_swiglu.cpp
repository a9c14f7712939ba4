// swiglu: silu(a)·b values and gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/swiglu.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(SwiGLU, Values) {
  Tensor a = random_tensor(Shape{9}, 1, 6.0, DType::F32), b = random_tensor(Shape{9}, 2, 1.0, DType::F32);
  Graph g;
  Var h = ops::swiglu(g, Graph::constant(a), Graph::constant(b));
  for (int64_t i = 0; i < 9; ++i) {
    const double x = a.at(i);
    EXPECT_NEAR(h.value.at(i), x / (1 + std::exp(-x)) * b.at(i), 1e-6);
  }
}

TEST(SwiGLU, GradCheck) {
  gradcheck("swiglu", {random_tensor(Shape{3, 11}, 3, 4.0), random_tensor(Shape{3, 11}, 4)},
            [](Graph& g, const std::vector<Var>& in) { return ops::swiglu(g, in[0], in[1]); });
}

}  // namespace
}  // namespace blt::test
