// Multi-threaded code paths (ctest runs single-threaded by default): with 2
// threads the ops give the single-thread result, and repeated runs are
// bit-identical (reductions happen in a fixed order for a fixed thread count).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "ops/attention.h"
#include "ops/embedding.h"
#include "ops/mask.h"
#include "ops/rmsnorm.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

// Runs fn (building a scalar-cotangent graph) with `threads` and returns all input gradients, concatenated.
std::vector<double> grads_with(int threads, const std::vector<Tensor>& inputs, const GraphFn& fn) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::vector<Tensor> grads;
  std::vector<Var> vars;
  for (const Tensor& t : inputs) {
    grads.push_back(Tensor::zeros(t.shape(), t.dtype()));
    vars.push_back(Var{t.view(), grads.back().view()});
  }
  Graph g;
  Var out = fn(g, vars);
  out.grad.copy_from(random_tensor(out.shape(), 99, 1.0, out.dtype()));
  g.backward();
  omp_set_num_threads(saved);
  std::vector<double> all;
  for (const Tensor& gr : grads)
    for (int64_t i = 0; i < gr.numel(); ++i) all.push_back(gr.at(i));
  return all;
}

void expect_thread_independent(const std::string& name, const std::vector<Tensor>& inputs, const GraphFn& fn) {
  const auto one = grads_with(1, inputs, fn), two = grads_with(2, inputs, fn), again = grads_with(2, inputs, fn);
  ASSERT_EQ(one.size(), two.size());
  double worst = 0;
  for (size_t i = 0; i < one.size(); ++i) worst = std::max(worst, std::fabs(one[i] - two[i]));
  EXPECT_LT(worst, 1e-4) << name << ": 1 vs 2 threads";
  EXPECT_EQ(two, again) << name << ": two runs with 2 threads differ";
}

TEST(Threads, AttentionBackward) {
  const auto ranges = ops::causal_ranges(300, 100);
  std::vector<ops::KeyRange> rows;
  for (int b = 0; b < 2; ++b) rows.insert(rows.end(), ranges.begin(), ranges.end());
  expect_thread_independent(
      "attention",
      {random_tensor(Shape{2, 300, 4, 16}, 1, 1.0, DType::F32), random_tensor(Shape{2, 300, 2, 16}, 2, 1.0, DType::F32),
       random_tensor(Shape{2, 300, 2, 16}, 3, 1.0, DType::F32)},
      [&](Graph& g, const std::vector<Var>& in) { return ops::attention(g, in[0], in[1], in[2], rows, 0.25); });
}

TEST(Threads, RMSNormAndEmbeddingBackward) {
  expect_thread_independent("rmsnorm", {random_tensor(Shape{700, 64}, 4, 1.0, DType::F32), random_tensor(Shape{64}, 5, 1.0, DType::F32)},
                            [](Graph& g, const std::vector<Var>& in) { return ops::rmsnorm(g, in[0], in[1], 1e-5); });
  std::vector<int32_t> ids(4000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7919) % 50);
  expect_thread_independent("embedding", {random_tensor(Shape{50, 64}, 6, 1.0, DType::F32)},
                            [&](Graph& g, const std::vector<Var>& in) { return ops::embedding(g, in[0], ids, Shape{4000}); });
}

}  // namespace
}  // namespace blt::test
