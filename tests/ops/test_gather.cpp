// gather_rows: values and scatter-add gradient with repeated indices.
#include <gtest/gtest.h>

#include "ops/gather.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(Gather, Values) {
  Tensor x = random_tensor(Shape{2, 3, 4}, 1, 1.0, DType::F32);
  std::vector<int32_t> idx = {2, 0, 0, 1, 1, 2};  // B=2, N=3
  Graph g;
  Var y = ops::gather_rows(g, Graph::constant(x), idx, 3);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t d = 0; d < 4; ++d)
        EXPECT_EQ(y.value.at((b * 3 + i) * 4 + d), x.at((b * 3 + idx[b * 3 + i]) * 4 + d));
}

TEST(Gather, GradCheck) {
  std::vector<int32_t> idx = {0, 0, 1, 3, 3, 3, 2, 0};  // B=2, N=4, P=4
  gradcheck("gather_rows", {random_tensor(Shape{2, 4, 3}, 2)},
            [&](Graph& g, const std::vector<Var>& in) { return ops::gather_rows(g, in[0], idx, 4); });
}

TEST(Gather, IndexOutOfRangeThrows) {
  Tensor x = Tensor::zeros(Shape{1, 2, 3});
  std::vector<int32_t> idx = {2};
  Graph g;
  EXPECT_THROW(ops::gather_rows(g, Graph::constant(x), idx, 1), ShapeError);
}

}  // namespace
}  // namespace blt::test
