// segment_pool: values for max/mean/min with empty segments, tie handling, gradients.
#include <gtest/gtest.h>

#include "ops/segment_pool.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

using ops::PoolMode;

TEST(SegmentPool, ValuesAndEmptySegments) {
  // B=1, T=5, D=1: x = 1 5 2 -3 4; segments [0,2) [2,2) [2,5)
  Tensor x = Tensor::from(std::vector<float>{1, 5, 2, -3, 4}, Shape{1, 5, 1});
  std::vector<int32_t> off = {0, 2, 2, 5};
  Graph g;
  Var mx = ops::segment_pool(g, Graph::constant(x), off, 3, PoolMode::Max);
  Var mn = ops::segment_pool(g, Graph::constant(x), off, 3, PoolMode::Min);
  Var av = ops::segment_pool(g, Graph::constant(x), off, 3, PoolMode::Mean);
  EXPECT_EQ(mx.value.at(0), 5);
  EXPECT_EQ(mx.value.at(1), 0);
  EXPECT_EQ(mx.value.at(2), 4);
  EXPECT_EQ(mn.value.at(2), -3);
  EXPECT_FLOAT_EQ(av.value.at(0), 3);
  EXPECT_FLOAT_EQ(av.value.at(2), 1);
}

TEST(SegmentPool, TiesShareTheGradientEvenly) {
  Tensor x = Tensor::from(std::vector<float>{2, 7, 7, 7, 1}, Shape{1, 5, 1});
  Tensor dx = Tensor::zeros(x.shape());
  std::vector<int32_t> off = {0, 5};
  Graph g;
  Var in{x.view(), dx.view()};
  Var y = ops::segment_pool(g, in, off, 1, PoolMode::Max);
  *y.grad().data<float>() = 3.0f;
  g.backward();
  const float expect[] = {0, 1, 1, 1, 0};
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(dx.at(i), expect[i]);
}

TEST(SegmentPool, GradCheck) {
  // Random values have no ties, so max and min are differentiable there.
  std::vector<int32_t> off = {0, 1, 1, 4, 7, 0, 3, 3, 3, 5};  // B=2, P=4, T=7: row 1 stops short of T
  for (PoolMode m : {PoolMode::Max, PoolMode::Mean, PoolMode::Min}) {
    gradcheck("segment_pool", {random_tensor(Shape{2, 7, 5}, 1)},
              [&](Graph& g, const std::vector<Var>& in) { return ops::segment_pool(g, in[0], off, 4, m); });
  }
}

TEST(SegmentPool, RejectsBadOffsets) {
  Tensor x = Tensor::zeros(Shape{1, 4, 2});
  Graph g;
  std::vector<int32_t> decreasing = {0, 3, 2};
  EXPECT_THROW(ops::segment_pool(g, Graph::constant(x), decreasing, 2, PoolMode::Max), ShapeError);
  std::vector<int32_t> past_end = {0, 5};
  EXPECT_THROW(ops::segment_pool(g, Graph::constant(x), past_end, 1, PoolMode::Max), ShapeError);
}

}  // namespace
}  // namespace blt::test
