// LayerCarry: without recording, a loop of layers holds one layer's
// temporaries and the carried values, whatever its depth, and trace hooks still
// see every layer's output; recording, it changes nothing.
#include <gtest/gtest.h>

#include "core/layer_carry.h"

namespace blt::test {
namespace {

// A stand-in layer: h -> h + 1, leaving ten temporaries of h's size in the arena.
Var layer(Graph& g, const Var& h) {
  for (int i = 0; i < 10; ++i) g.scratch(h.shape(), h.dtype());
  const Var out = g.output(h.shape(), h.dtype(), false);
  for (int64_t j = 0; j < h.value.numel(); ++j) out.value.data<float>()[j] = h.value.data<float>()[j] + 1;
  return out;
}

struct Loop {
  size_t peak;
  Var h;
};

// n_layers layers over zeros (4,8), each output traced as "<l>"; the arena's peak and the last value.
Loop run(Graph& g, int n_layers) {
  const Var x = Graph::constant(g.arena().zeros(Shape{4, 8}, DType::F32));
  LayerCarry carry(g, {x.shape()}, x.dtype());
  Var h = x;
  for (int l = 0; l < n_layers; ++l) {
    h = layer(g, h);
    g.trace(std::to_string(l), h.value);
    h = carry.keep(h);
  }
  return {g.arena().peak_bytes(), h};
}

TEST(LayerCarry, NoGradLoopHoldsOneLayer) {
  Graph shallow, deep;
  shallow.set_recording(false);
  deep.set_recording(false);
  TraceRecorder tr;
  deep.set_tracer(&tr);
  const Loop a = run(shallow, 1), b = run(deep, 6);
  EXPECT_EQ(b.peak, a.peak);
  for (int64_t j = 0; j < 32; ++j) ASSERT_EQ(b.h.value.data<float>()[j], 6.0f);
  for (int l = 0; l < 6; ++l) EXPECT_EQ(tr.tensors().at(std::to_string(l)).view().at(5), l + 1.0) << l;
}

TEST(LayerCarry, RecordingKeepsEveryActivation) {
  Graph shallow, deep;
  const Loop a = run(shallow, 1), b = run(deep, 6);
  EXPECT_GE(b.peak, a.peak + 5 * 11 * 4 * 8 * sizeof(float));  // five more layers of eleven (4,8) blocks
  Graph g;
  const Var x = Graph::constant(g.arena().zeros(Shape{4, 8}, DType::F32));
  LayerCarry carry(g, {x.shape()}, x.dtype());
  const Var h = layer(g, x);
  EXPECT_EQ(carry.keep(h).value.raw(), h.value.raw());  // the value itself, not a copy
}

TEST(LayerCarry, SkipsAValueNotMadeYet) {
  Graph g;
  g.set_recording(false);
  const Var x = Graph::constant(g.arena().zeros(Shape{2, 3}, DType::F32));
  LayerCarry carry(g, {x.shape(), Shape{5}}, x.dtype());
  Var h = layer(g, x), later;
  carry.keep({&h, &later});
  EXPECT_FALSE(later.value.defined());
  EXPECT_EQ(h.value.at(4), 1.0);
  later = g.output(Shape{4}, DType::F32, false);  // not the shape declared
  EXPECT_THROW(carry.keep({&h, &later}), InternalError);
}

}  // namespace
}  // namespace blt::test
