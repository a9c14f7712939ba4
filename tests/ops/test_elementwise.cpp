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

// Inputs that are op outputs, whose gradients the backward writes when it is their first contribution: y
// used twice by one add (written, then added to), and by an add and a scale (in either order of the tape).
TEST(Elementwise, GradCheckFirstContributionsWritten) {
  gradcheck("add(y, y)", {random_tensor(Shape{3, 5}, 5)}, [](Graph& g, const std::vector<Var>& in) {
    const Var y = ops::scale(g, in[0], 1.5);
    return ops::add(g, y, y);
  });
  gradcheck("add(y, 2y) + y", {random_tensor(Shape{6}, 6), random_tensor(Shape{6}, 7)},
            [](Graph& g, const std::vector<Var>& in) {
              const Var y = ops::add(g, in[0], in[1]);
              return ops::add(g, ops::add(g, y, ops::scale(g, y, 2.0)), y);
            });
}

TEST(Elementwise, AddShapeMismatchThrows) {
  Tensor a = Tensor::zeros(Shape{2, 3}), b = Tensor::zeros(Shape{3, 2});
  Graph g;
  EXPECT_THROW(ops::add(g, Graph::constant(a), Graph::constant(b)), ShapeError);
}

}  // namespace
}  // namespace blt::test
