// add and scale: gradients, including a value used twice (fan-in accumulation).
#include <gtest/gtest.h>

#include "ops/elementwise.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(Elementwise, GradCheckAddAndScale) {
  gradcheck("add", {random_tensor(Shape{3, 5}, 1), random_tensor(Shape{3, 5}, 2)},
            [](Graph& g, const std::vector<Var>& in) { return ops::add(g, in[0], in[1]); });
  gradcheck("scale", {random_tensor(Shape{7}, 3)},
            [](Graph& g, const std::vector<Var>& in) { return ops::scale(g, in[0], -2.5); });
  // x used twice: d(x + 3x)/dx = 4 needs accumulation, not overwrite.
  gradcheck("fan-in", {random_tensor(Shape{4}, 4)}, [](Graph& g, const std::vector<Var>& in) {
    return ops::add(g, in[0], ops::scale(g, in[0], 3.0));
  });
}

TEST(Elementwise, AddShapeMismatchThrows) {
  Tensor a = Tensor::zeros(Shape{2, 3}), b = Tensor::zeros(Shape{3, 2});
  Graph g;
  EXPECT_THROW(ops::add(g, Graph::constant(a), Graph::constant(b)), ShapeError);
}

}  // namespace
}  // namespace blt::test
