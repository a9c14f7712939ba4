// Finite-difference gradient check of the whole BLT on tiny configurations:
// every parameter tensor of every component (hash tables, encoder, cross
// attentions, projections, global, decoder) has sampled entries checked.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "model/blt.h"
#include "ops/cross_entropy.h"
#include "support/gradcheck.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

model::BltArgs tiny(bool cross) {
  model::BltArgs a = tiny_blt_args({.dim_local = 16, .dim_global = 24, .layers_encoder = 2, .layers_global = 1,
                                    .layers_decoder = 2, .heads = 2, .seq = 32, .window = 4, .cross = cross});
  a.n_kv_heads = 1;
  a.multiple_of = 8;
  a.max_seqlen = 16;
  a.attn_bias_type = "block_causal";
  a.encoder_hash_byte_group_size = {2, 3};
  a.encoder_hash_byte_group_nb_functions = 2;
  a.encoder_hash_byte_group_vocab = 17;
  if (cross) {  // every layer, and the encoder's window of 2 patches
    a.cross_attn_all_layers_encoder = a.cross_attn_all_layers_decoder = true;
    a.cross_attn_window_encoder = 2;
  }
  a.validate("test");
  return a;
}

void check(bool cross) {
  const model::BltArgs args = tiny(cross);
  nn::ParamRegistry reg(DType::F64);
  model::ByteLatentTransformer blt(args, reg);
  reg.allocate();
  Rng rng(11);
  reg.initialize(rng);
  for (const auto& p : reg.params())  // perturb the norm weights away from 1
    if (p.init.kind == nn::Init::Kind::Ones)
      for (int64_t j = 0; j < p.shape.numel(); ++j) reg.value(*reg.find(p.name)).data<double>()[j] = 0.7 + 0.6 * rng.uniform();
  // Two rows (B=2, N=9) with an EOS inside; lengths sum to N+1, the second row padded with a 0.
  const std::vector<int32_t> x = {1, 40, 41, 42, 2, 1, 50, 51, 52, 1, 60, 61, 62, 63, 64, 65, 66, 67};
  const std::vector<int32_t> y = {40, 41, 42, 2, 1, 50, 51, 52, 53, 60, 61, 62, 63, 64, 65, 66, 67, 68};
  const std::vector<int32_t> lengths = {1, 3, 2, 3, 1, 1, 4, 5, 0, 0};
  const patching::PatchLayout layout = patching::make_patch_layout(x, lengths, 2, 9, 5, args.eos_id);
  GradCheckOptions opt;
  opt.max_elements = 4;
  gradcheck_params(cross ? "blt cross" : "blt pooling", reg, [&](Graph& g) {
    return ops::cross_entropy(g, blt.forward(g, x, layout), y, ops::Reduction::Mean);
  }, opt);
  // Every parameter must receive some gradient (no component is disconnected).
  reg.zero_grad();
  Graph g;
  g.backward(ops::cross_entropy(g, blt.forward(g, x, layout), y, ops::Reduction::Mean));
  for (size_t i = 0; i < reg.params().size(); ++i) {
    const TensorView gr = reg.grad(static_cast<nn::ParamId>(i));
    double s = 0;
    for (int64_t j = 0; j < gr.numel(); ++j) s += std::fabs(gr.at(j));
    if (reg.params()[i].name.find("token_embedding_projection") != std::string::npos) continue;
    EXPECT_GT(s, 0) << reg.params()[i].name << " gets no gradient";
  }
}

TEST(BltGradCheck, CrossAttentionModel) { check(true); }
TEST(BltGradCheck, PoolingModel) { check(false); }

}  // namespace
}  // namespace blt::test
