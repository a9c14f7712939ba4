// rope: adjacent-pair convention, relative-position property, gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>

#include "ops/rope.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(Rope, AdjacentPairsRotateAsComplexNumbers) {
  const int64_t Dh = 8;
  ops::RopeTable table(10000.0, Dh, 16);
  Tensor x = random_tensor(Shape{1, 3, 2, Dh}, 1);
  std::vector<int32_t> pos = {0, 5, 11};
  Graph g;
  Var y = ops::rope(g, Graph::constant(x), table, pos);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < Dh / 2; ++i) {
        const double freq = 1.0 / std::pow(10000.0, 2.0 * i / Dh);
        const int64_t base = (t * 2 + h) * Dh + 2 * i;
        const std::complex<double> z(x.at(base), x.at(base + 1));
        const std::complex<double> r = z * std::polar(1.0, pos[t] * freq);
        EXPECT_NEAR(y.value.at(base), r.real(), 1e-6);
        EXPECT_NEAR(y.value.at(base + 1), r.imag(), 1e-6);
      }
}

TEST(Rope, DotProductDependsOnlyOnOffset) {
  const int64_t Dh = 16;
  ops::RopeTable table(10000.0, Dh, 64);
  Tensor q = random_tensor(Shape{1, 1, 1, Dh}, 2), k = random_tensor(Shape{1, 1, 1, Dh}, 3);
  auto dot_at = [&](int32_t m, int32_t n) {
    Graph g;
    std::vector<int32_t> pm = {m}, pn = {n};
    Var a = ops::rope(g, Graph::constant(q), table, pm), b = ops::rope(g, Graph::constant(k), table, pn);
    double s = 0;
    for (int64_t i = 0; i < Dh; ++i) s += a.value.at(i) * b.value.at(i);
    return s;
  };
  EXPECT_NEAR(dot_at(10, 3), dot_at(40, 33), 1e-6);
  EXPECT_NEAR(dot_at(0, 0), dot_at(20, 20), 1e-6);
}

TEST(Rope, GradCheck) {
  ops::RopeTable table(500.0, 6, 32);
  std::vector<int32_t> pos = {3, 0, 31, 7, 7};
  gradcheck("rope", {random_tensor(Shape{2, 5, 3, 6}, 4)},
            [&](Graph& g, const std::vector<Var>& in) { return ops::rope(g, in[0], table, pos); });
}

TEST(Rope, PositionOutsideTableThrows) {
  ops::RopeTable table(10000.0, 4, 8);
  Tensor x = Tensor::zeros(Shape{1, 1, 1, 4});
  std::vector<int32_t> pos = {8};
  Graph g;
  EXPECT_THROW(ops::rope(g, Graph::constant(x), table, pos), ShapeError);
}

}  // namespace
}  // namespace blt::test
