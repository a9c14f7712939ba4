// The analytic FLOP model (DESIGN.md §5) against the FLOPs the ops executed,
// per component, on a forward pass with uniform patches: within 5%.
#include <gtest/gtest.h>

#include "core/rng.h"
#include "model/blt.h"
#include "eval/flops.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

TEST(Flops, AnalyticMatchesExecutedWithinFivePercent) {
  model::BltArgs a = tiny_blt_args(
      {.dim_local = 64, .dim_global = 128, .layers_global = 2, .layers_decoder = 2, .heads = 4, .seq = 512, .window = 64});
  a.encoder_hash_byte_group_vocab = 97;
  a.cross_attn_all_layers_decoder = true;
  a.validate("test");
  nn::ParamRegistry reg;
  model::ByteLatentTransformer blt(a, reg);
  reg.allocate();
  const int64_t N = 512, S = 4;  // patches [1, 4, 4, ..., 4, 3]: N + 1 bytes
  std::vector<int32_t> tokens(N, 70), lengths = {1};
  for (int64_t left = N; left > 0; left -= S) lengths.push_back(static_cast<int32_t>(std::min(S, left)));
  const auto layout = patching::make_patch_layout(tokens, lengths, 1, N, static_cast<int64_t>(lengths.size()), 2);
  Graph g;
  g.set_recording(false);
  blt.forward(g, tokens, layout);
  const double mean = static_cast<double>(N + 1) / static_cast<double>(lengths.size());
  const auto analytic = eval::blt_flops(a, mean, N);
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
