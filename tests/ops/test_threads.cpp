// Multi-threaded code paths (ctest runs single-threaded by default): with 2
// threads the ops give the single-thread result, and repeated runs are
// bit-identical (reductions happen in a fixed order for a fixed thread count).
// Forward kernels take a serial path without OpenMP below their thresholds or
// on one thread; above them, 1 and 2 threads must agree bit for bit.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <thread>

#include "ops/attention.h"
#include "ops/concat.h"
#include "ops/cross_entropy.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/mask.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/segment_pool.h"
#include "ops/swiglu.h"
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
  out.grad().copy_from(random_tensor(out.shape(), 99, 1.0, out.dtype()));
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

// Two backward passes at once on different threads (each with its own OpenMP team of 2): each must get
// exactly the gradients it gets alone. A process-wide scratch buffer would be shared and race.
TEST(Threads, ConcurrentAttentionBackwardsDoNotShareScratch) {
  const auto ranges = ops::causal_ranges(300, 100);
  std::vector<ops::KeyRange> rows;
  for (int b = 0; b < 2; ++b) rows.insert(rows.end(), ranges.begin(), ranges.end());
  auto inputs = [](uint64_t seed, int64_t T) {
    return std::vector<Tensor>{random_tensor(Shape{2, T, 4, 16}, seed, 1.0, DType::F32),
                               random_tensor(Shape{2, T, 2, 16}, seed + 1, 1.0, DType::F32),
                               random_tensor(Shape{2, T, 2, 16}, seed + 2, 1.0, DType::F32)};
  };
  const auto fn = [&](Graph& g, const std::vector<Var>& in) { return ops::attention(g, in[0], in[1], in[2], rows, 0.25); };
  // Different sizes, so a shared buffer would also be resized under the other pass.
  const auto a_in = inputs(1, 300), b_in = inputs(7, 300);
  const auto a_alone = grads_with(2, a_in, fn), b_alone = grads_with(2, b_in, fn);
  for (int round = 0; round < 5; ++round) {
    std::vector<double> a_got, b_got;
    std::thread ta([&] { a_got = grads_with(2, a_in, fn); });
    std::thread tb([&] { b_got = grads_with(2, b_in, fn); });
    ta.join();
    tb.join();
    ASSERT_EQ(a_got, a_alone) << "round " << round;
    ASSERT_EQ(b_got, b_alone) << "round " << round;
  }
}

TEST(Threads, RMSNormAndEmbeddingBackward) {
  expect_thread_independent("rmsnorm", {random_tensor(Shape{700, 64}, 4, 1.0, DType::F32), random_tensor(Shape{64}, 5, 1.0, DType::F32)},
                            [](Graph& g, const std::vector<Var>& in) { return ops::rmsnorm(g, in[0], in[1], 1e-5); });
  std::vector<int32_t> ids(4000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7919) % 50);
  expect_thread_independent("embedding", {random_tensor(Shape{50, 64}, 6, 1.0, DType::F32)},
                            [&](Graph& g, const std::vector<Var>& in) { return ops::embedding(g, in[0], ids, Shape{4000}); });
}

// Runs fn forward only (inputs need no grad) with `threads` and returns the output values.
std::vector<double> values_with(int threads, const std::vector<Tensor>& inputs, const GraphFn& fn) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.push_back(Var{t.view(), TensorView{}});
  Graph g(size_t{16} << 20);
  const Var out = fn(g, vars);
  omp_set_num_threads(saved);
  std::vector<double> all;
  for (int64_t i = 0; i < out.value.numel(); ++i) all.push_back(out.value.at(i));
  return all;
}

void expect_forward_bit_identical(const std::string& name, const std::vector<Tensor>& inputs, const GraphFn& fn) {
  const auto one = values_with(1, inputs, fn), two = values_with(2, inputs, fn);
  EXPECT_EQ(one, two) << name << ": forward with 1 vs 2 threads";
}

Tensor f32(Shape s, uint64_t seed) { return random_tensor(s, seed, 1.0, DType::F32); }

// Every shape is above its op's threshold, so 2 threads take the OpenMP path and 1 thread the serial one.
TEST(Threads, ForwardKernelsAreBitIdenticalAcrossThreadCounts) {
  expect_forward_bit_identical("rmsnorm", {f32(Shape{700, 64}, 1), f32(Shape{64}, 2)}, [](Graph& g, const std::vector<Var>& in) {
    return ops::rmsnorm(g, in[0], in[1], 1e-5);
  });
  expect_forward_bit_identical("add", {f32(Shape{300, 257}, 3), f32(Shape{300, 257}, 4)},
                               [](Graph& g, const std::vector<Var>& in) { return ops::add(g, in[0], in[1]); });
  expect_forward_bit_identical("scale", {f32(Shape{300, 257}, 5)},
                               [](Graph& g, const std::vector<Var>& in) { return ops::scale(g, in[0], 0.3); });
  expect_forward_bit_identical("swiglu", {f32(Shape{300, 257}, 6), f32(Shape{300, 257}, 7)},
                               [](Graph& g, const std::vector<Var>& in) { return ops::swiglu(g, in[0], in[1]); });
  const ops::RopeTable table(10000.0, 32, 300);
  std::vector<int32_t> pos(300);
  for (size_t t = 0; t < pos.size(); ++t) pos[t] = static_cast<int32_t>((t * 7) % 300);
  expect_forward_bit_identical("rope", {f32(Shape{2, 300, 4, 32}, 8)},
                               [&](Graph& g, const std::vector<Var>& in) { return ops::rope(g, in[0], table, pos); });
  std::vector<ops::KeyRange> rows;
  for (int b = 0; b < 2; ++b) {
    const auto r = ops::causal_ranges(300, 100);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  expect_forward_bit_identical(
      "attention", {f32(Shape{2, 300, 4, 16}, 9), f32(Shape{2, 300, 2, 16}, 10), f32(Shape{2, 300, 2, 16}, 11)},
      [&](Graph& g, const std::vector<Var>& in) { return ops::attention(g, in[0], in[1], in[2], rows, 0.25); });
  std::vector<int32_t> ids(2 * 4000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7919) % 50);
  expect_forward_bit_identical("embedding_sum", {f32(Shape{50, 64}, 12), f32(Shape{50, 64}, 13)},
                               [&](Graph& g, const std::vector<Var>& in) {
                                 return ops::embedding_sum(g, in, ids, Shape{4000});
                               });
  std::vector<int32_t> offsets;
  for (int b = 0; b < 2; ++b)
    for (int p = 0; p <= 100; ++p) offsets.push_back(std::min(600, p * p / 16));  // empty and long segments
  for (ops::PoolMode mode : {ops::PoolMode::Max, ops::PoolMode::Mean, ops::PoolMode::Min})
    expect_forward_bit_identical("segment_pool", {f32(Shape{2, 600, 64}, 14)},
                                 [&](Graph& g, const std::vector<Var>& in) {
                                   return ops::segment_pool(g, in[0], offsets, 100, mode);
                                 });
  expect_forward_bit_identical("concat", {f32(Shape{700, 64}, 15), f32(Shape{700, 63}, 16)},
                               [](Graph& g, const std::vector<Var>& in) { return ops::concat_last(g, in); });
  std::vector<int32_t> targets(300);
  for (size_t i = 0; i < targets.size(); ++i) targets[i] = static_cast<int32_t>((i * 31) % 260);
  expect_forward_bit_identical("cross_entropy", {f32(Shape{300, 260}, 17)}, [&](Graph& g, const std::vector<Var>& in) {
    return ops::cross_entropy(g, in[0], targets, ops::Reduction::Mean, -1);
  });
  expect_forward_bit_identical("row_entropy", {f32(Shape{300, 260}, 18)}, [](Graph& g, const std::vector<Var>& in) {
    TensorView h = g.scratch(Shape{300}, DType::F32);
    ops::row_entropy(in[0].value, h);
    return Var{h, TensorView{}};
  });
}

}  // namespace
}  // namespace blt::test
