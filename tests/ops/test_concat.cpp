// concat_last / slice_last: values and gradients.
#include <gtest/gtest.h>

#include "ops/concat.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(Concat, ValuesAndSliceInverse) {
  Tensor a = random_tensor(Shape{2, 3, 2}, 1, 1.0, DType::F32), b = random_tensor(Shape{2, 3, 5}, 2, 1.0, DType::F32);
  Graph g;
  std::vector<Var> xs = {Graph::constant(a), Graph::constant(b)};
  Var c = ops::concat_last(g, xs);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 7}));
  Var a2 = ops::slice_last(g, c, 0, 2), b2 = ops::slice_last(g, c, 2, 7);
  EXPECT_EQ(max_abs_diff(a2.value, a), 0);
  EXPECT_EQ(max_abs_diff(b2.value, b), 0);
}

TEST(Concat, GradCheck) {
  gradcheck("concat", {random_tensor(Shape{3, 1}, 1), random_tensor(Shape{3, 4}, 2), random_tensor(Shape{3, 2}, 3)},
            [](Graph& g, const std::vector<Var>& in) { return ops::concat_last(g, in); });
  gradcheck("slice", {random_tensor(Shape{2, 9}, 4)},
            [](Graph& g, const std::vector<Var>& in) { return ops::slice_last(g, in[0], 3, 8); });
}

TEST(Concat, MismatchedRowsThrow) {
  Tensor a = Tensor::zeros(Shape{2, 3}), b = Tensor::zeros(Shape{3, 3});
  Graph g;
  std::vector<Var> xs = {Graph::constant(a), Graph::constant(b)};
  EXPECT_THROW(ops::concat_last(g, xs), ShapeError);
  EXPECT_THROW(ops::slice_last(g, Graph::constant(a), 2, 4), ShapeError);
}

}  // namespace
}  // namespace blt::test
