// Graph: tape replay order, no-grad mode, loss checks, allocation-free steady state,
// backward independent of the caller's metadata buffers.
#include <gtest/gtest.h>

#include <functional>

#include "core/rng.h"
#include "nn/params.h"
#include "ops/attention.h"
#include "ops/concat.h"
#include "ops/cross_entropy.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/gather.h"
#include "ops/linear.h"
#include "ops/mask.h"
#include "ops/rmsnorm.h"
#include "ops/rope.h"
#include "ops/segment_pool.h"
#include "support/gradcheck.h"

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
  const size_t allocs = g.arena().heap_allocations(), grad_allocs = g.grad_pool().heap_allocations();
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(g.arena().heap_allocations(), allocs);
  EXPECT_EQ(g.grad_pool().heap_allocations(), grad_allocs);
}

// Ops that copy host metadata into the arena still allocate nothing from the heap once warm.
TEST(Graph, MetadataCopiesAllocateNothingAfterWarmUp) {
  nn::ParamRegistry reg;
  auto emb = reg.declare("emb", Shape{16, 8}, nn::Init::trunc_normal(0.1));
  reg.allocate();
  Rng rng(2);
  reg.initialize(rng);
  const std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 8}, offsets = {0, 3, 8}, tgt = {1, 2};
  const std::vector<ops::KeyRange> ranges = ops::causal_ranges(8);
  Graph g;
  auto step = [&] {
    g.reset();
    Var x = ops::embedding(g, reg.var(emb), ids, Shape{1, 8});
    Var h = x.reshape(Shape{1, 8, 2, 4});
    h = ops::attention(g, h, h, h, ranges, 0.5).reshape(Shape{1, 8, 8});
    h = ops::segment_pool(g, h, offsets, 2, ops::PoolMode::Max);
    g.backward(ops::cross_entropy(g, h.reshape(Shape{2, 8}), tgt, ops::Reduction::Sum));
  };
  step();
  step();
  const size_t allocs = g.arena().heap_allocations();
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(g.arena().heap_allocations(), allocs);
}

// One op reading host metadata (ids, offsets, key ranges, positions, targets, input lists).
struct MetadataCase {
  std::string name;
  std::vector<Tensor> inputs;  // double, all trainable
  std::function<void()> fill;   // (re)writes the caller's metadata
  std::function<void()> spoil;  // overwrites it in place with other valid values
  std::function<Var(Graph&, const std::vector<Var>&)> op;
};

// Gradients of Σ op(inputs)·R; with `spoil`, c.spoil() runs between the forward and the backward.
std::vector<double> metadata_case_grads(const MetadataCase& c, bool spoil) {
  c.fill();
  std::vector<Tensor> grads;
  std::vector<Var> vars;
  for (const Tensor& t : c.inputs) {
    grads.push_back(Tensor::zeros(t.shape(), t.dtype()));
    vars.push_back(Var{t.view(), grads.back().view()});
  }
  Graph g;
  Var out = c.op(g, vars);
  if (spoil) c.spoil();
  out.grad().copy_from(random_tensor(out.shape(), 99, 1.0, out.dtype()));
  g.backward();
  std::vector<double> all;
  for (const Tensor& gr : grads)
    for (int64_t i = 0; i < gr.numel(); ++i) all.push_back(gr.at(i));
  return all;
}

// Ops copy the metadata their backward reads into the graph's arena when they record it, so a
// caller may clear and refill its buffers before backward. (The buffers are refilled in place:
// code that kept a pointer to them would read the new values and get other gradients.)
TEST(Graph, BackwardIgnoresCallerMetadataOverwrittenAfterForward) {
  const int64_t B = 2, T = 9, H = 2, Dh = 4, D = H * Dh, V = 11, P = 3;
  std::vector<ops::KeyRange> ranges;
  std::vector<int32_t> ids, offsets, pos, targets, idx;
  std::vector<Var> parts;
  ops::RopeTable table(10000.0, Dh, T);
  auto refill = [](auto& v, auto value_at) {
    const size_t n = v.size();
    v.clear();
    for (size_t i = 0; i < n; ++i) v.push_back(value_at(i));
  };
  std::vector<MetadataCase> cases;
  cases.push_back({"attention",
                   {random_tensor(Shape{B, T, H, Dh}, 1), random_tensor(Shape{B, T, 1, Dh}, 2),
                    random_tensor(Shape{B, T, 1, Dh}, 3)},
                   [&] { ranges = ops::block_causal_ranges(std::vector<int32_t>(B * T, 5), B, T, 2, 3); },
                   [&] { refill(ranges, [&](size_t) { return ops::KeyRange{0, static_cast<int32_t>(T)}; }); },
                   [&](Graph& g, const std::vector<Var>& in) {
                     return ops::attention(g, in[0], in[1], in[2], ranges, 0.5);
                   }});
  cases.push_back({"segment_pool",
                   {random_tensor(Shape{B, T, D}, 4)},
                   [&] { offsets = {0, 2, 5, 9, 0, 1, 1, 7}; },
                   [&] { refill(offsets, [&](size_t i) { return static_cast<int32_t>(3 * (i % (P + 1))); }); },
                   [&](Graph& g, const std::vector<Var>& in) {
                     return ops::segment_pool(g, in[0], offsets, P, ops::PoolMode::Mean);
                   }});
  cases.push_back({"embedding_sum",
                   {random_tensor(Shape{V, D}, 5), random_tensor(Shape{V + 2, D}, 6)},
                   [&] {
                     ids.resize(2 * B * T);
                     for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((7 * i) % V);
                   },
                   [&] { refill(ids, [&](size_t i) { return static_cast<int32_t>((3 * i + 1) % V); }); },
                   [&](Graph& g, const std::vector<Var>& in) {
                     return ops::embedding_sum(g, in, ids, Shape{B, T});
                   }});
  cases.push_back({"rope",
                   {random_tensor(Shape{B, T, H, Dh}, 7)},
                   [&] {
                     pos.resize(T);
                     for (int64_t t = 0; t < T; ++t) pos[t] = static_cast<int32_t>(t);
                   },
                   [&] { refill(pos, [&](size_t i) { return static_cast<int32_t>(T - 1 - i); }); },
                   [&](Graph& g, const std::vector<Var>& in) { return ops::rope(g, in[0], table, pos); }});
  cases.push_back({"cross_entropy",
                   {random_tensor(Shape{B * T, V}, 8)},
                   [&] {
                     targets.resize(B * T);
                     for (size_t i = 0; i < targets.size(); ++i)
                       targets[i] = i % 5 == 0 ? -1 : static_cast<int32_t>(i % V);
                   },
                   [&] { refill(targets, [&](size_t i) { return static_cast<int32_t>((i + 4) % V); }); },
                   [&](Graph& g, const std::vector<Var>& in) {
                     return ops::cross_entropy(g, in[0], targets, ops::Reduction::Mean);
                   }});
  cases.push_back({"gather_rows",
                   {random_tensor(Shape{B, P, D}, 9)},
                   [&] {
                     idx.resize(B * T);
                     for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i % P);
                   },
                   [&] { refill(idx, [&](size_t) { return int32_t{0}; }); },
                   [&](Graph& g, const std::vector<Var>& in) { return ops::gather_rows(g, in[0], idx, T); }});
  cases.push_back({"concat_last",
                   {random_tensor(Shape{B, T, D}, 10), random_tensor(Shape{B, T, D}, 11)},
                   [] {},
                   [&] { std::swap(parts[0], parts[1]); },
                   [&](Graph& g, const std::vector<Var>& in) {
                     parts = in;
                     return ops::concat_last(g, parts);
                   }});
  for (const MetadataCase& c : cases) {
    const std::vector<double> kept = metadata_case_grads(c, false), spoiled = metadata_case_grads(c, true);
    EXPECT_TRUE(kept == spoiled) << c.name << ": backward read the caller's buffer after it was overwritten";
  }
}

}  // namespace
}  // namespace blt::test
