// rmsnorm: values against the formula, gradients against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/rmsnorm.h"
#include "support/bf16_rounding.h"
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

// out_bf16 holds the bf16 rounding of every element of the float32 output (threaded and single-thread calls,
// a row length that is no multiple of a vector, a NaN row), which is then not written.
TEST(RMSNorm, WritesTheOutputsBf16RoundingWhenGivenRoom) {
  for (Shape s : {Shape{4, 300, 64}, Shape{3, 37}}) {
    Tensor x = random_tensor(s, 5, 3.0, DType::F32), w = random_tensor(Shape{s.last()}, 6, 1.0, DType::F32);
    x.data<float>()[1] = NAN;
    Tensor rounded = unwritten_bf16(s);
    Graph g;
    const Var plain = ops::rmsnorm(g, Graph::constant(x), Graph::constant(w), 1e-5);
    const Var y = ops::rmsnorm(g, Graph::constant(x), Graph::constant(w), 1e-5, rounded.view());
    EXPECT_EQ(y.shape(), plain.shape());
    expect_bf16_of(plain.value, rounded.view());
  }
}

TEST(RMSNorm, Bf16RoomMustMatchAFloat32Output) {
  Graph g;
  const Tensor x = Tensor::zeros(Shape{2, 8}), w = Tensor::zeros(Shape{8});
  const Tensor room = unwritten_bf16(Shape{2, 4});
  EXPECT_THROW(
      {
        try {
          ops::rmsnorm(g, Graph::constant(x), Graph::constant(w), 1e-5, room.view());
        } catch (const ShapeError& e) {
          EXPECT_STREQ(e.what(), "[rmsnorm] x (2,8) vs out_bf16 (2,4) bf16");
          throw;
        }
      },
      ShapeError);
  const Tensor x64 = Tensor::zeros(Shape{2, 4}, DType::F64), w64 = Tensor::zeros(Shape{4}, DType::F64);
  EXPECT_THROW(ops::rmsnorm(g, Graph::constant(x64), Graph::constant(w64), 1e-5, room.view()), ShapeError);
}

}  // namespace
}  // namespace blt::test
