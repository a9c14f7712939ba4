// LMTransformer: whole-model gradient check, overfitting a short string,
// determinism for a fixed seed, an inference forward's memory not growing with depth.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "lm/lm_transformer.h"
#include "ops/cross_entropy.h"
#include "support/gradcheck.h"
#include "train/adamw.h"

namespace blt::test {
namespace {

lm::LMTransformerArgs tiny_args() {
  lm::LMTransformerArgs a;
  a.dim = 16;
  a.n_layers = 2;
  a.n_heads = 4;
  a.n_kv_heads = 2;
  a.multiple_of = 8;
  a.max_seqlen = 32;
  a.sliding_window = 5;
  a.attn_bias_type = lm::AttnBias::LocalBlockCausal;
  return a;
}

TEST(LMTransformer, GradCheckWholeModel) {
  nn::ParamRegistry reg(DType::F64);
  lm::LMTransformer model(tiny_args(), reg);
  reg.allocate();
  Rng rng(3);
  reg.initialize(rng);
  // Norm weights start at 1; perturb them so their gradients are generic.
  for (const auto& p : reg.params())
    if (p.init.kind == nn::Init::Kind::Ones)
      for (int64_t j = 0; j < p.shape.numel(); ++j)
        reg.value(*reg.find(p.name)).data<double>()[j] = 1 + 0.3 * (rng.uniform() - 0.5);
  // Two rows with a document boundary (EOS=2) inside.
  std::vector<int32_t> x = {1, 70, 71, 72, 2, 1, 80, 81, 82, 83, 1, 90, 91, 92, 93, 94, 95, 2, 1, 99};
  std::vector<int32_t> y = {70, 71, 72, 2, 1, 80, 81, 82, 83, 2, 90, 91, 92, 93, 94, 95, 2, 1, 99, 100};
  GradCheckOptions opt;
  opt.max_elements = 6;
  gradcheck_params("lm", reg, [&](Graph& g) {
    return ops::cross_entropy(g, model.forward(g, x, 2, 10), y, ops::Reduction::Mean);
  }, opt);
}

// Trains a 2-layer LM on one 64-byte string; returns the per-step losses.
std::vector<double> overfit(int steps, uint64_t seed) {
  lm::LMTransformerArgs a;
  a.dim = 64;
  a.n_layers = 2;
  a.n_heads = 4;
  a.multiple_of = 32;
  a.max_seqlen = 64;
  a.attn_bias_type = lm::AttnBias::Causal;
  nn::ParamRegistry reg;
  lm::LMTransformer model(a, reg);
  reg.allocate();
  Rng rng(seed);
  reg.initialize(rng);
  const std::string text = "The quick brown fox jumps over the lazy dog; 0123456789 ABCDEFGHI";
  std::vector<int32_t> ids;
  ids.push_back(1);
  for (unsigned char c : text.substr(0, 64)) ids.push_back(c + 4);
  std::vector<int32_t> x(ids.begin(), ids.end() - 1), y(ids.begin() + 1, ids.end());
  train::AdamW opt(reg, {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.0});
  Graph g;
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    g.reset();
    reg.zero_grad();
    Var loss = ops::cross_entropy(g, model.forward(g, x, 1, static_cast<int64_t>(x.size())), y, ops::Reduction::Mean);
    g.backward(loss);
    train::clip_grad_norm(reg, 1.0);
    opt.step(1e-2 * train::lr_factor({.warmup = 10, .total = steps, .min_ratio = 0.1}, s + 1));
    losses.push_back(loss.value.at(0));
  }
  return losses;
}

TEST(LMTransformer, OverfitsA64ByteString) {
  auto losses = overfit(150, 1);
  EXPECT_GT(losses.front(), 4.0);
  EXPECT_LT(losses.back(), 0.05) << "nats/byte after 150 steps";
}

TEST(LMTransformer, SameSeedSameLosses) {
  auto a = overfit(20, 7), b = overfit(20, 7), c = overfit(20, 8);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
  EXPECT_NE(a.back(), c.back());
}

TEST(LMTransformer, RejectsTooLongSequence) {
  nn::ParamRegistry reg;
  lm::LMTransformer model(tiny_args(), reg);
  reg.allocate();
  std::vector<int32_t> x(33, 5);
  Graph g;
  EXPECT_THROW(model.forward(g, x, 1, 33), ShapeError);
}

// Not recording, a forward holds one layer's activations (core/layer_carry.h): 4 layers peak within one hidden
// state of 1 layer, and the logits equal a recording forward's bit for bit.
TEST(LMTransformer, InferencePeakDoesNotGrowWithDepth) {
  const std::vector<int32_t> x = {1, 70, 71, 72, 2, 1, 80, 81, 82, 83, 1, 90, 91, 92, 93, 94, 95, 2, 1, 99};
  struct Forward {
    size_t peak;
    std::vector<float> logits;
  };
  auto forward = [&](int64_t n_layers, bool recording) {
    lm::LMTransformerArgs a = tiny_args();
    a.n_layers = n_layers;
    nn::ParamRegistry reg;
    const lm::LMTransformer model(a, reg);
    reg.allocate();
    Rng rng(5);
    reg.initialize(rng);
    Graph g;
    g.set_recording(recording);
    const Var out = model.forward(g, x, 2, 10);
    return Forward{g.arena().peak_bytes(), {out.value.data<float>(), out.value.data<float>() + out.value.numel()}};
  };
  const size_t hidden = 2 * 10 * tiny_args().dim * sizeof(float);
  EXPECT_LE(forward(4, false).peak, forward(1, false).peak + hidden);
  EXPECT_EQ(forward(4, false).logits, forward(4, true).logits);
}

}  // namespace
}  // namespace blt::test
