// Lazy gradients (core/grad_pool.h, Graph::output): forward takes no gradient
// memory, a chain of N ops holds O(1) gradients at once in backward, views share
// their base's buffer, reused blocks start at zero or are overwritten by their first writer (warm
// steps give the same gradients bit for bit), a released gradient cannot be read, size classes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "blas/gemm_bf16.h"
#include "core/rng.h"
#include "nn/params.h"
#include "ops/attention.h"
#include "ops/cross_entropy.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/mask.h"
#include "ops/rmsnorm.h"
#include "ops/swiglu.h"
#include "support/gradcheck.h"

namespace blt::test {
namespace {

TEST(GradPool, ReusesAReleasedBlockOfTheSameClassZeroed) {
  GradPool pool;
  auto* a = static_cast<float*>(pool.acquire(4000));
  for (int i = 0; i < 1000; ++i) a[i] = 1.5f;
  pool.release(a, 4000);
  auto* b = static_cast<float*>(pool.acquire(3990));  // 4000 and 3990 bytes share a class
  EXPECT_EQ(b, a);
  for (int i = 0; i < 997; ++i) ASSERT_EQ(b[i], 0.0f) << "element " << i;
  void* c = pool.acquire(4000);  // b is in use: a new block
  EXPECT_NE(c, static_cast<void*>(b));
  void* d = pool.acquire(40000);  // another class never takes b's block
  EXPECT_NE(d, static_cast<void*>(b));
  EXPECT_GE(pool.bytes_peak(), size_t{4000 + 4000 + 40000});
  EXPECT_LE(pool.bytes_peak(), size_t{(4000 + 4000 + 40000) * 9 / 8 + 3 * 64});
}

// Peak gradient bytes of backward through x -> scale^n -> out, seeded by hand.
size_t chain_peak(int n, const TensorView& x, const TensorView& dx) {
  Graph g;
  Var h = Var{x, dx};
  for (int i = 0; i < n; ++i) h = ops::scale(g, h, 2.0);
  EXPECT_EQ(g.grad_bytes_peak(), 0u) << "forward took gradient memory";
  h.grad().copy_from(x);
  g.backward();
  return g.grad_bytes_peak();
}

TEST(LazyGradients, LongChainHoldsTwoGradientsAtOnce) {
  const Tensor x = random_tensor(Shape{64, 33}, 1, 1.0, DType::F32);
  Tensor dx = Tensor::zeros(x.shape());
  const size_t bytes = static_cast<size_t>(x.view().nbytes());
  const size_t short_chain = chain_peak(2, x, dx.view());
  dx = Tensor::zeros(x.shape());
  const size_t long_chain = chain_peak(64, x, dx.view());
  EXPECT_EQ(long_chain, short_chain) << "the gradient pool grows with the chain";
  EXPECT_LE(long_chain, 2 * bytes * 9 / 8) << "at most out's and its input's gradient, each within a class";
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(dx.at(i), std::ldexp(x.at(i), 64)) << "element " << i;
}

// y = 2x viewed three ways; a = 3·rows[0,2), b = 5·rows[2,4), c = 7·reshape(y): dx = 2·(3 or 5 + 7).
TEST(LazyGradients, ViewsShareTheLazilyCreatedBuffer) {
  const Tensor x = random_tensor(Shape{4, 3}, 2, 1.0, DType::F32);
  Tensor dx = Tensor::zeros(x.shape());
  Graph g;
  const Var y = ops::scale(g, Var{x.view(), dx.view()}, 2.0);
  const Var top = y.slice(0, 2), bottom = y.slice(2, 4), flat = y.reshape(Shape{12});
  Var a = ops::scale(g, top, 3.0), b = ops::scale(g, bottom, 5.0), c = ops::scale(g, flat, 7.0);
  EXPECT_EQ(g.grad_bytes_peak(), 0u);
  const float* base = y.grad().data<float>();
  EXPECT_EQ(flat.grad().data<float>(), base);
  EXPECT_EQ(top.grad().data<float>(), base);
  EXPECT_EQ(bottom.grad().data<float>(), base + 6);
  EXPECT_TRUE(bottom.grad().shape() == Shape({2, 3}));
  for (Var* v : {&a, &b, &c})
    for (int64_t i = 0; i < v->shape().numel(); ++i) v->grad().data<float>()[i] = 1.0f;
  g.backward();
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(dx.at(i), i < 6 ? 20.0 : 24.0) << "element " << i;
  EXPECT_THROW((void)y.grad(), InternalError) << "y's producer has run: its gradient was released";
  EXPECT_THROW((void)bottom.grad(), InternalError);
}

// A backward that writes its contribution in one pass (Var::grad_to_write) overwrites only a whole op
// output's gradient that nothing has created yet; a leaf's, a slice's or a created one is added to.
TEST(LazyGradients, OnlyAFreshWholeGradientIsWrittenRatherThanAddedTo) {
  const Tensor x = random_tensor(Shape{4, 3}, 2, 1.0, DType::F32);
  Tensor dx = Tensor::zeros(x.shape());
  Graph g;
  const Var leaf{x.view(), dx.view()};
  bool first = true;
  EXPECT_EQ(leaf.grad_to_write(first).data<float>(), dx.data<float>());
  EXPECT_FALSE(first) << "a leaf's gradient";
  const Var y = ops::scale(g, leaf, 2.0), z = ops::scale(g, leaf, 3.0), w = ops::scale(g, leaf, 5.0);
  (void)w.slice(0, 2).grad_to_write(first);
  EXPECT_FALSE(first) << "a slice";
  const float* whole = y.reshape(Shape{12}).grad_to_write(first).data<float>();
  EXPECT_TRUE(first) << "the whole of a fresh gradient";
  EXPECT_EQ(y.grad().data<float>(), whole) << "later readers see the buffer it wrote";
  (void)y.grad_to_write(first);
  EXPECT_FALSE(first) << "created by the first writer";
  (void)z.grad();
  (void)z.grad_to_write(first);
  EXPECT_FALSE(first) << "created by a reader";
}

// Parameter gradients of one float step (rmsnorm, two linears, swiglu, attention, add, linear, cross-entropy)
// over T positions, run on g.
std::vector<float> step_grads(Graph& g, int64_t T) {
  const int64_t D = 8, V = 11;
  nn::ParamRegistry reg;
  const auto n = reg.declare("n", Shape{D}, nn::Init::ones());
  const auto wa = reg.declare("wa", Shape{D, D}, nn::Init::trunc_normal(0.3));
  const auto wb = reg.declare("wb", Shape{D, D}, nn::Init::trunc_normal(0.3));
  const auto wo = reg.declare("wo", Shape{V, D}, nn::Init::trunc_normal(0.3));
  reg.allocate();
  Rng rng(5);
  reg.initialize(rng);
  const Tensor x = random_tensor(Shape{1, T, D}, 3, 1.0, DType::F32);
  std::vector<int32_t> tgt(static_cast<size_t>(T));
  for (size_t t = 0; t < tgt.size(); ++t) tgt[t] = static_cast<int32_t>((3 * t) % V);
  const std::vector<ops::KeyRange> ranges = ops::causal_ranges(T);
  g.reset();
  const Var xn = ops::rmsnorm(g, Graph::constant(x), reg.var(n), 1e-5);
  const Var s = ops::swiglu(g, ops::linear(g, xn, reg.var(wa)), ops::linear(g, xn, reg.var(wb)));
  const Var q = s.reshape(Shape{1, T, 2, D / 2});
  const Var r = ops::add(g, ops::attention(g, q, q, q, ranges, 0.5).reshape(Shape{1, T, D}), xn);
  g.backward(
      ops::cross_entropy(g, ops::linear(g, r, reg.var(wo)).reshape(Shape{T, V}), tgt, ops::Reduction::Mean));
  const TensorView grads = reg.grads();
  return {grads.data<float>(), grads.data<float>() + grads.numel()};
}

// Blocks reused from earlier steps (of other shapes, so other contents) start at zero like fresh ones, or
// are overwritten by their first writer (Var::grad_to_write), in float32 and in mixed precision.
void expect_warm_steps_give_the_first_steps_gradients(Precision p) {
  Graph fresh;
  fresh.set_precision(p);
  const std::vector<float> first = step_grads(fresh, 9);
  Graph warm;
  warm.set_precision(p);
  (void)step_grads(warm, 7);
  (void)step_grads(warm, 9);
  const std::vector<float> again = step_grads(warm, 9);
  ASSERT_EQ(again.size(), first.size());
  EXPECT_EQ(std::memcmp(again.data(), first.data(), first.size() * sizeof(float)), 0);
  EXPECT_GT(warm.grad_bytes_peak(), 0u);
}

TEST(LazyGradients, WarmStepsGiveTheFirstStepsGradientsBitForBit) {
  expect_warm_steps_give_the_first_steps_gradients(Precision::F32);
}

TEST(LazyGradients, WarmBf16StepsGiveTheFirstStepsGradientsBitForBit) {
  if (!blas::has_bf16_matmul()) GTEST_SKIP() << "this CPU has no bf16 matmul (" << blas::bf16_isa() << ")";
  expect_warm_steps_give_the_first_steps_gradients(Precision::BF16);
}

}  // namespace
}  // namespace blt::test
