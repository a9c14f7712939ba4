// embedding / embedding_sum: lookup values, scatter-add gradients, id range errors.
#include <gtest/gtest.h>

#include "ops/embedding.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(Embedding, SumOfTablesValues) {
  Tensor t0 = random_tensor(Shape{5, 3}, 1, 1.0, DType::F32), t1 = random_tensor(Shape{7, 3}, 2, 1.0, DType::F32);
  std::vector<int32_t> ids = {4, 0, 4, 6, 6, 1};  // table 0: 4,0,4  table 1: 6,6,1
  Graph g;
  std::vector<Var> tabs = {Graph::constant(t0), Graph::constant(t1)};
  Var out = ops::embedding_sum(g, tabs, ids, Shape{3});
  ASSERT_EQ(out.shape(), (Shape{3, 3}));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t d = 0; d < 3; ++d)
      EXPECT_FLOAT_EQ(out.value.at(i * 3 + d), t0.at(ids[i] * 3 + d) + t1.at(ids[3 + i] * 3 + d));
}

TEST(Embedding, GradCheckWithRepeatedIds) {
  std::vector<int32_t> ids = {2, 2, 0, 3, 2, 1, 1, 0};  // (B=2, T=4), ids repeat
  gradcheck("embedding", {random_tensor(Shape{4, 5}, 3)}, [&](Graph& g, const std::vector<Var>& in) {
    return ops::embedding(g, in[0], ids, Shape{2, 4});
  });
}

TEST(Embedding, GradCheckSumOfThreeTables) {
  std::vector<int32_t> ids = {0, 1, 1, 8, 8, 8, 2, 2, 0};  // 3 tables x N=3
  gradcheck("embedding_sum",
            {random_tensor(Shape{2, 7}, 4), random_tensor(Shape{9, 7}, 5), random_tensor(Shape{3, 7}, 6)},
            [&](Graph& g, const std::vector<Var>& in) { return ops::embedding_sum(g, in, ids, Shape{3}); });
}

TEST(Embedding, IdOutOfRangeThrows) {
  Tensor t = Tensor::zeros(Shape{4, 2});
  std::vector<int32_t> ids = {0, 4};
  Graph g;
  EXPECT_THROW(ops::embedding(g, Graph::constant(t), ids, Shape{2}), ShapeError);
  ids = {-1, 0};
  EXPECT_THROW(ops::embedding(g, Graph::constant(t), ids, Shape{2}), ShapeError);
}

}  // namespace
}  // namespace blt::test
