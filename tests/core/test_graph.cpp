// Graph: tape replay order, no-grad mode, loss checks, allocation-free steady state.
#include <gtest/gtest.h>

#include "nn/params.h"
#include "ops/cross_entropy.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/rmsnorm.h"

namespace blt::test {
namespace {

TEST(Graph, NoGradModeRecordsNothing) {
  Graph g;
  g.set_recording(false);
  Tensor w = Tensor::zeros(Shape{3, 3}), dw = Tensor::zeros(Shape{3, 3});
  Tensor x = Tensor::zeros(Shape{2, 3});
  Var y = ops::linear(g, Graph::constant(x), Var{w.view(), dw.view()});
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(g.tape_size(), 0u);
}

TEST(Graph, BackwardNeedsScalarLossWithGradient) {
  Graph g;
  Tensor x = Tensor::zeros(Shape{2});
  EXPECT_THROW(g.backward(Graph::constant(x)), ShapeError);
  Tensor s = Tensor::zeros(Shape{1});
  EXPECT_THROW(g.backward(Graph::constant(s)), ShapeError);
}

TEST(Graph, TrainingStepAllocatesNothingAfterWarmUp) {
  nn::ParamRegistry reg;
  auto w = reg.declare("w", Shape{8, 8}, nn::Init::trunc_normal(0.1));
  auto n = reg.declare("n", Shape{8}, nn::Init::ones());
  reg.allocate();
  Rng rng(1);
  reg.initialize(rng);
  Tensor x = Tensor::zeros(Shape{4, 8});
  std::vector<int32_t> tgt = {1, 2, 3, 4};
  Graph g;
  auto step = [&] {
    g.reset();
    Var h = ops::rmsnorm(g, ops::linear(g, Graph::constant(x), reg.var(w)), reg.var(n), 1e-5);
    h = ops::add(g, h, h);
    g.backward(ops::cross_entropy(g, h, tgt, ops::Reduction::Mean));
  };
  step();
  step();
  const size_t allocs = g.arena().heap_allocations();
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(g.arena().heap_allocations(), allocs);
}

}  // namespace
}  // namespace blt::test
