// An inference forward (not recording) holds one layer's activations per
// stack, not every layer's (core/layer_carry.h): the arena's peak does not grow
// with the depth of the global transformer, the local decoder or the local
// encoder (cross attention at every layer, reading each layer's states) by as
// much as one hidden state, and the logits equal a recording forward's bit for bit.
#include <gtest/gtest.h>

#include <vector>

#include "core/rng.h"
#include "model/blt.h"
#include "patching/patch_layout.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

const std::vector<int32_t> kTokens = {1, 70, 71, 36, 72, 73, 74, 36, 75, 76, 2, 1, 77, 78};
const std::vector<int32_t> kLengths = {1, 3, 4, 2, 3, 2};  // sum N+1 (include_next_token)
constexpr int64_t kN = 14, kP = 6;

struct Forward {
  size_t peak;  // the arena's most bytes in use at once
  std::vector<float> logits;
};

Forward forward(TinyBlt t, bool recording) {
  model::BltArgs a = tiny_blt_args(t);
  a.cross_attn_all_layers_encoder = a.cross_attn_all_layers_decoder = t.cross;
  a.validate("test");
  nn::ParamRegistry reg(DType::F32);
  const model::ByteLatentTransformer m(a, reg);
  reg.allocate();
  Rng rng(9);
  reg.initialize(rng);
  const auto layout = patching::make_patch_layout(kTokens, kLengths, 1, kN, kP, a.eos_id);
  Graph g;
  g.set_recording(recording);
  const Var out = m.forward(g, kTokens, layout);
  return {g.arena().peak_bytes(), {out.value.data<float>(), out.value.data<float>() + out.value.numel()}};
}

void expect_depth_free(bool cross) {
  TinyBlt base;
  base.cross = cross;
  const size_t peak = forward(base, false).peak;
  const size_t bytes_global = kP * base.dim_global * sizeof(float), bytes_local = kN * base.dim_local * sizeof(float);
  TinyBlt deep = base;
  deep.layers_global = 4;
  EXPECT_LE(forward(deep, false).peak, peak + bytes_global) << "global 4 layers vs 1";
  deep = base;
  deep.layers_decoder = 4;
  EXPECT_LE(forward(deep, false).peak, peak + bytes_local) << "decoder 4 layers vs 1";
  deep = base;
  deep.layers_encoder = 4;
  EXPECT_LE(forward(deep, false).peak, peak + bytes_local) << "encoder 4 layers vs 1";
}

TEST(InferenceMemory, DepthDoesNotGrowThePeakWithCrossAttention) { expect_depth_free(true); }
TEST(InferenceMemory, DepthDoesNotGrowThePeakWithPooling) { expect_depth_free(false); }

TEST(InferenceMemory, LogitsEqualARecordingForward) {
  for (bool cross : {true, false}) {
    const TinyBlt t{.layers_encoder = 3, .layers_global = 3, .layers_decoder = 3, .cross = cross};
    EXPECT_EQ(forward(t, false).logits, forward(t, true).logits) << (cross ? "cross" : "pooling");
  }
}

}  // namespace
}  // namespace blt::test
