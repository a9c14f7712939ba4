// Cached decoding against recompute-everything: at every step of a
// teacher-forced generation (a prefill, then one byte at a time) the cached
// decoder's logits equal the reference definition's (max abs <= 1e-4), for
// random tiny models in many configurations: cross attention in some or all
// layers or pooling only, cross_attn_k 1 and 2, GQA, windows shorter than
// the prompt, EOS inside the prompt, every patching mode (entropy with
// monotonicity or threshold_add too), max_patch_length,
// an entropy chunk shorter than the context, and the byte LM decoder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/rng.h"
#include "generate/blt_decoder.h"
#include "generate/lm_decoder.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

// Bytes with spaces (so space patching has delimiters) and, optionally, EOS ids.
std::vector<int32_t> random_tokens(int64_t n, uint64_t seed, bool with_eos) {
  Rng rng(seed);
  std::vector<int32_t> t = {1};  // BOS
  while (static_cast<int64_t>(t.size()) < n) {
    const double u = rng.uniform();
    t.push_back(with_eos && u < 0.03 ? 2 : u < 0.2 ? ' ' + 4 : static_cast<int32_t>('a' + rng.uniform() * 26) + 4);
  }
  return t;
}

double max_diff(std::span<const float> a, std::span<const float> b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// Prefill `prompt` tokens, then feed the rest one at a time; logits must agree at every step.
void expect_same_steps(gen::Decoder& cached, gen::Decoder& ref, std::span<const int32_t> tokens, int64_t prompt) {
  std::vector<float> got;
  for (int64_t t = prompt; t <= static_cast<int64_t>(tokens.size()); ++t) {
    const auto piece = t == prompt ? tokens.first(prompt) : tokens.subspan(t - 1, 1);
    const auto a = cached.feed(piece);
    got.assign(a.begin(), a.end());
    const auto b = ref.feed(piece);
    ASSERT_EQ(got.size(), b.size());
    ASSERT_LE(max_diff(got, b), 1e-4) << "after " << t << " tokens";
  }
  EXPECT_EQ(cached.size(), static_cast<int64_t>(tokens.size()));
  const auto la = cached.patch_lengths();
  const std::vector<int32_t> lengths(la.begin(), la.end());
  const auto lb = ref.patch_lengths();
  EXPECT_EQ(lengths, std::vector<int32_t>(lb.begin(), lb.end())) << "patches differ";
}

struct Case {
  const char* name;
  TinyBlt shape;
  const char* mode = "entropy";
  bool all_layers = false;
  int64_t k = 2;
  std::optional<int64_t> kv_heads = {}, max_patch_length = {}, cross_window = {};
  std::optional<double> threshold_add = {};
  bool monotonicity = false, eos = false;
  double patch_size = 3;
  int64_t entropy_seq = 64;  // entropy model max_seqlen: < the context makes the entropy chunks restart
};

class CachedBlt : public ::testing::TestWithParam<Case> {};

TEST_P(CachedBlt, LogitsEqualRecomputeAtEveryStep) {
  const Case& c = GetParam();
  model::BltArgs a = tiny_blt_args(c.shape);
  a.patching_mode = c.mode;
  if (c.shape.cross) {
    a.cross_attn_k = c.k;
    a.cross_attn_all_layers_encoder = a.cross_attn_all_layers_decoder = c.all_layers;
    a.cross_attn_window_encoder = a.cross_attn_window_decoder = c.cross_window;
  }
  a.n_kv_heads = c.kv_heads;
  if (c.eos) a.attn_bias_type = "block_causal";  // documents end at EOS patches in the global model too
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = patching::parse_patching_mode(c.mode);
  pa.monotonicity = c.monotonicity;
  pa.max_patch_length = c.max_patch_length;
  pa.threshold_add = c.threshold_add;
  pa.patch_size = c.patch_size;
  auto m = modeldir::BltModel::create(a, pa);
  Rng init(7);
  m.params->initialize(init);
  const auto tokens = random_tokens(60, 11, c.eos);
  if (pa.patching_mode == patching::PatchingMode::Entropy) {
    m.entropy = modeldir::EntropyModel::create(tiny_lm_args(c.entropy_seq), pa);
    Rng ei(3);
    m.entropy->params->initialize(ei);
    // A threshold at the median entropy of the sequence, so patches vary in length.
    patching::RowPatcher rp(pa, m.entropy_lm(), a.eos_id);
    std::vector<float> h;
    rp.row_entropies(tokens, 1, static_cast<int64_t>(tokens.size()), h);
    std::nth_element(h.begin(), h.begin() + h.size() / 2, h.end());
    m.patcher.threshold = c.monotonicity ? 0.0 : h[h.size() / 2];
  }
  gen::BltCachedDecoder cached(m);
  gen::BltNoCacheDecoder ref(m);
  expect_same_steps(cached, ref, tokens, 20);
  EXPECT_GT(cached.global_steps(), 0);
  EXPECT_LT(cached.global_steps(), ref.global_steps());  // the reference re-runs every patch per byte
}

TinyBlt shape(bool cross, int64_t enc, int64_t dec, int64_t window = 8) {
  TinyBlt t;
  t.cross = cross;
  t.layers_encoder = enc;
  t.layers_decoder = dec;
  t.window = window;
  return t;
}

INSTANTIATE_TEST_SUITE_P(
    Configs, CachedBlt,
    ::testing::Values(Case{.name = "entropy_cross", .shape = shape(true, 2, 2)},
                      Case{.name = "entropy_cross_all_layers", .shape = shape(true, 2, 2), .all_layers = true},
                      Case{.name = "entropy_k1_gqa", .shape = shape(true, 1, 2), .k = 1, .kv_heads = 1},
                      Case{.name = "entropy_pooling", .shape = shape(false, 2, 1)},
                      Case{.name = "entropy_eos_in_prompt", .shape = shape(true, 1, 1), .eos = true},
                      Case{.name = "monotonic", .shape = shape(true, 1, 1), .monotonicity = true},
                      Case{.name = "threshold_add", .shape = shape(true, 1, 1), .threshold_add = 0.0},
                      Case{.name = "max_patch_length", .shape = shape(true, 1, 1), .max_patch_length = 3},
                      Case{.name = "cross_window_2", .shape = shape(true, 2, 1), .all_layers = true, .cross_window = 2},
                      Case{.name = "entropy_chunks", .shape = shape(true, 1, 1), .entropy_seq = 16},
                      Case{.name = "space", .shape = shape(true, 1, 1, 4), .mode = "space"},
                      Case{.name = "space_pooling_eos", .shape = shape(false, 1, 1), .mode = "space", .eos = true},
                      Case{.name = "static", .shape = shape(true, 1, 1), .mode = "static"},
                      Case{.name = "byte", .shape = shape(false, 1, 1), .mode = "byte"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(CachedLm, LogitsEqualRecomputeAtEveryStep) {
  auto m = modeldir::EntropyModel::create(tiny_lm_args(64, 12), {});
  Rng init(5);
  m.params->initialize(init);
  gen::LmCachedDecoder cached(*m.model);
  gen::LmNoCacheDecoder ref(*m.model);
  expect_same_steps(cached, ref, random_tokens(50, 9, true), 17);
}

}  // namespace
}  // namespace blt::test
