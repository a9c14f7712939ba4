// The analytic FLOP model (DESIGN.md §5) against the FLOPs the ops executed,
// per component, on a forward pass with uniform patches: within 5%.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "model/blt.h"
#include "model/flops.h"

namespace blt::test {
namespace {

TEST(Flops, AnalyticMatchesExecutedWithinFivePercent) {
  model::BltArgs a;
  a.dim_global = 128;
  a.n_layers_global = 2;
  a.n_heads_global = 4;
  a.dim_local_encoder = a.dim_local_decoder = 64;
  a.n_layers_local_encoder = 1;
  a.n_layers_local_decoder = 2;
  a.n_heads_local_encoder = a.n_heads_local_decoder = 4;
  a.multiple_of = 32;
  a.max_seqlen = 512;
  a.max_encoder_seq_length = 512;
  a.local_attention_window_len = 64;
  a.encoder_hash_byte_group_size = {3, 4};
  a.encoder_hash_byte_group_nb_functions = 1;
  a.encoder_hash_byte_group_vocab = 97;
  a.cross_attn_encoder = a.cross_attn_decoder = true;
  a.cross_attn_k = 2;
  a.cross_attn_nheads = 4;
  a.cross_attn_init_by_pooling = true;
  a.cross_attn_all_layers_decoder = true;
  a.downsampling_by_pooling = "max";
  a.validate("test");
  nn::ParamRegistry reg;
  model::ByteLatentTransformer blt(a, reg);
  reg.allocate();
  const int64_t N = 512, S = 4;  // patches [1, 4, 4, ..., 4, 3]: N + 1 bytes
  std::vector<int32_t> tokens(N, 70), lengths = {1};
  for (int64_t left = N; left > 0; left -= S) lengths.push_back(static_cast<int32_t>(std::min(S, left)));
  const auto layout = model::make_patch_layout(tokens, lengths, 1, N, static_cast<int64_t>(lengths.size()), 2);
  Graph g;
  g.set_recording(false);
  blt.forward(g, tokens, layout);
  const double mean = static_cast<double>(N + 1) / static_cast<double>(lengths.size());
  const auto analytic = model::blt_flops(a, mean, N);
  double executed_total = 0;
  for (const auto& e : g.flops().entries()) executed_total += e.forward;
  executed_total /= static_cast<double>(N);
  const double rel = std::fabs(executed_total - analytic.total()) / analytic.total();
  EXPECT_LT(rel, 0.05) << "executed " << executed_total / N << " vs analytic " << analytic.total() << " FLOPs/byte";
  for (const auto& e : g.flops().entries()) {
    if (e.forward == 0) continue;
    ASSERT_TRUE(analytic.per_byte.count(e.name)) << e.name;
    EXPECT_NEAR(e.forward / N, analytic.per_byte.at(e.name), 0.05 * analytic.per_byte.at(e.name)) << e.name;
  }
}

}  // namespace
}  // namespace blt::test
