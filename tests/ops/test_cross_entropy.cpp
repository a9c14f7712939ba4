// cross_entropy (sum/mean, ignore id) and row_entropy against direct formulas; gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/cross_entropy.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

double direct_nll(const Tensor& logits, int64_t row, int64_t V, int32_t target) {
  double s = 0;
  for (int64_t j = 0; j < V; ++j) s += std::exp(logits.at(row * V + j));
  return std::log(s) - logits.at(row * V + target);
}

TEST(CrossEntropy, SumAndMeanWithIgnore) {
  Tensor logits = random_tensor(Shape{4, 6}, 1, 3.0);
  std::vector<int32_t> tgt = {1, -1, 5, 0};
  Graph g;
  g.set_recording(false);
  const double sum = ops::cross_entropy(g, Graph::constant(logits), tgt, ops::Reduction::Sum).value.at(0);
  const double mean = ops::cross_entropy(g, Graph::constant(logits), tgt, ops::Reduction::Mean).value.at(0);
  const double expect = direct_nll(logits, 0, 6, 1) + direct_nll(logits, 2, 6, 5) + direct_nll(logits, 3, 6, 0);
  EXPECT_NEAR(sum, expect, 1e-12);
  EXPECT_NEAR(mean, expect / 3, 1e-12);
}

TEST(CrossEntropy, GradCheck) {
  std::vector<int32_t> tgt = {2, 0, -1, 6, 6};
  for (auto red : {ops::Reduction::Sum, ops::Reduction::Mean}) {
    gradcheck("cross_entropy", {random_tensor(Shape{5, 7}, 2, 2.0)}, [&](Graph& g, const std::vector<Var>& in) {
      return ops::cross_entropy(g, in[0], tgt, red);
    });
  }
}

TEST(CrossEntropy, TargetOutOfRangeThrows) {
  Tensor logits = Tensor::zeros(Shape{2, 3});
  std::vector<int32_t> tgt = {0, 3};
  Graph g;
  EXPECT_THROW(ops::cross_entropy(g, Graph::constant(logits), tgt, ops::Reduction::Sum), ShapeError);
}

TEST(RowEntropy, MatchesDefinition) {
  Tensor logits = random_tensor(Shape{3, 260}, 3, 5.0, DType::F32);
  Tensor h = Tensor::zeros(Shape{3}, DType::F32);
  ops::row_entropy(logits, h);
  for (int64_t i = 0; i < 3; ++i) {
    double z = 0;
    for (int64_t j = 0; j < 260; ++j) z += std::exp(logits.at(i * 260 + j));
    double e = 0;
    for (int64_t j = 0; j < 260; ++j) {
      const double p = std::exp(logits.at(i * 260 + j)) / z;
      e -= p * std::log(p);
    }
    EXPECT_NEAR(h.at(i), e, 1e-5);
  }
  // Uniform logits: entropy ln V.
  Tensor flat = Tensor::zeros(Shape{1, 260}, DType::F32);
  Tensor h1 = Tensor::zeros(Shape{1}, DType::F32);
  ops::row_entropy(flat, h1);
  EXPECT_NEAR(h1.at(0), std::log(260.0), 1e-6);
}

}  // namespace
}  // namespace blt::test
