// gen::generate end to end on random tiny models and the official-layout
// fixture: cached and recompute-everything generation give byte-identical
// output, greedy and sampled, through prompt and context cuts, for a BLT with
// entropy patching and for a byte LM; a batch row equals its prompt generated
// alone; the global model steps exactly once per patch closed during
// generation, and the generated patch flags equal offline patching of the
// whole text; rows end at EOS, max_bytes and stop strings, and a model that
// never emits a byte still ends at max_bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/rng.h"
#include "data/tokenizer.h"
#include "generate/generation.h"
#include "patching/row_patcher.h"
#include "generate/entropy_blt.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

const std::string kText = "the cat sat on the mat and then it ran off to see a dog in the fog ";

// The tiny entropy-patched BLT, calibrated on kText.
modeldir::BltModel entropy_blt(int64_t seq, uint64_t seed = 7) { return test::entropy_blt(seq, kText, seed); }

modeldir::EntropyModel byte_lm(int64_t seq, int64_t window, uint64_t seed = 5) {
  auto m = modeldir::EntropyModel::create(tiny_lm_args(seq, window), {});
  Rng init(seed);
  m.params->initialize(init);
  return m;
}

gen::GenerateOptions greedy(int64_t max_bytes, bool cache = true) {
  gen::GenerateOptions o;
  o.max_bytes = max_bytes;
  o.sampler.temperature = 0;
  o.cache = cache;
  return o;
}

gen::GenerateOptions sampled(int64_t max_bytes, uint64_t seed, bool cache = true) {
  gen::GenerateOptions o;
  o.max_bytes = max_bytes;
  o.sampler = {.temperature = 1, .top_k = 0, .top_p = 1, .seed = seed};
  o.cache = cache;
  return o;
}

// Everything but timings, FLOPs and global steps (which differ between cached and recompute by design).
void expect_same_output(const gen::GenerationResult& a, const gen::GenerationResult& b,
                        const std::string& what) {
  EXPECT_EQ(a.ids, b.ids) << what;
  EXPECT_EQ(a.text, b.text) << what;
  EXPECT_EQ(a.patch_starts, b.patch_starts) << what;
  EXPECT_EQ(a.finish, b.finish) << what;
  EXPECT_EQ(a.prompt_tokens, b.prompt_tokens) << what;
  EXPECT_EQ(a.prompt_cut, b.prompt_cut) << what;
  EXPECT_EQ(a.context_cuts, b.context_cuts) << what;
}

// Runs generate with the cache on and off; both must agree.
std::pair<gen::GenerationResult, gen::GenerationResult> cached_and_recompute(const modeldir::BltModel* m,
                                                                             const lm::LMTransformer* lm,
                                                                             const std::string& prompt,
                                                                             gen::GenerateOptions o) {
  o.cache = true;
  auto a = gen::generate(m, lm, {prompt}, o);
  o.cache = false;
  auto b = gen::generate(m, lm, {prompt}, o);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(b.size(), 1u);
  return {a.at(0), b.at(0)};
}

TEST(Generate, BltGreedyCachedEqualsRecomputeThroughContextCuts) {
  const auto m = entropy_blt(28);
  const auto [a, b] = cached_and_recompute(&m, nullptr, "the cat", greedy(70));
  expect_same_output(a, b, "greedy BLT");
  EXPECT_EQ(a.finish, "length");
  EXPECT_EQ(a.ids.size(), 70u);
  EXPECT_GE(a.context_cuts, 2) << "the test must overflow the 28-byte context at least twice";
  EXPECT_FALSE(a.prompt_cut);
  EXPECT_GT(a.global_steps, 0);
}

TEST(Generate, BltSampledCachedEqualsRecomputeThroughContextCuts) {
  const auto m = entropy_blt(28);
  const auto [a, b] = cached_and_recompute(&m, nullptr, "on the", sampled(70, 12));
  expect_same_output(a, b, "sampled BLT");
  EXPECT_GE(a.context_cuts, 2);
  // Sampling at temperature 1 from a random model: many distinct bytes (the sampler is not stuck on argmax).
  EXPECT_GT(std::set<int32_t>(a.ids.begin(), a.ids.end()).size(), 20u);
}

TEST(Generate, BltPromptLongerThanTheContext) {
  const auto m = entropy_blt(28);
  std::vector<std::string> notices;
  auto o = greedy(20);
  const auto r =
      gen::generate(&m, nullptr, {kText}, o, {}, [&](const std::string& s) { notices.push_back(s); });
  const auto [a, b] = cached_and_recompute(&m, nullptr, kText, o);
  expect_same_output(a, b, "cut prompt");
  EXPECT_TRUE(a.prompt_cut);
  EXPECT_EQ(a.prompt_tokens, 14);  // the last capacity/2
  expect_same_output(r.at(0), a, "with a notice callback");
  ASSERT_GE(notices.size(), 1u);
  EXPECT_NE(notices[0].find("longer than the context"), std::string::npos) << notices[0];
}

TEST(Generate, ByteLmGreedyCachedEqualsRecomputeThroughContextCuts) {
  const auto lm = byte_lm(24, 8);
  const auto [a, b] = cached_and_recompute(nullptr, lm.model.get(), "the cat", greedy(60));
  expect_same_output(a, b, "greedy byte LM");
  EXPECT_EQ(a.ids.size(), 60u);
  EXPECT_GE(a.context_cuts, 2);
  EXPECT_EQ(a.global_steps, 0);
  EXPECT_TRUE(std::all_of(a.patch_starts.begin(), a.patch_starts.end(), [](char c) { return c == 0; }));
}

TEST(Generate, ByteLmSampledCachedEqualsRecomputeThroughContextCuts) {
  const auto lm = byte_lm(24, 8);
  const auto [a, b] = cached_and_recompute(nullptr, lm.model.get(), "on the", sampled(60, 3));
  expect_same_output(a, b, "sampled byte LM");
  EXPECT_GE(a.context_cuts, 2);
  EXPECT_GT(std::set<int32_t>(a.ids.begin(), a.ids.end()).size(), 20u);
}

// A batch row equals its prompt alone (row r samples with seed + r), and its global steps split into the
// prompt's prefill and the generation.
TEST(Generate, BatchRowsEqualEachPromptAlone) {
  const auto m = entropy_blt(64);
  const std::vector<std::string> prompts = {"", "a", "the cat sat on", "then it ran off to see"};
  for (const bool sample : {false, true}) {
    const auto o = sample ? sampled(30, 40) : greedy(30);
    const auto batch = gen::generate(&m, nullptr, prompts, o);
    ASSERT_EQ(batch.size(), prompts.size());
    for (size_t r = 0; r < prompts.size(); ++r) {
      const std::string what = (sample ? "sampled row " : "greedy row ") + std::to_string(r);
      auto alone_opt = o;
      alone_opt.sampler.seed += r;
      const auto alone = gen::generate(&m, nullptr, {prompts[r]}, alone_opt);
      expect_same_output(batch[r], alone.at(0), what);
      EXPECT_EQ(batch[r].global_steps, alone[0].global_steps) << what;
      EXPECT_EQ(batch[r].generated_global_steps, alone[0].generated_global_steps) << what;
      // The prefill's share: a decoder fed the prompt alone.
      const auto dec = gen::make_decoder(&m, nullptr, true);
      dec->feed(data::encode(prompts[r], true, false));
      EXPECT_EQ(batch[r].global_steps - batch[r].generated_global_steps, dec->global_steps()) << what;
      EXPECT_GT(batch[r].generated_global_steps, 0) << what;
      EXPECT_EQ(batch[r].prompt_tokens, static_cast<int64_t>(prompts[r].size()) + 1) << what;
    }
  }
}

// With no context cut, the cached BLT runs the global model once per patch that closes: during generation
// that is one step per generated byte that opens a patch, except the first (its patch opened during the
// prefill, closing the prompt's last), so global steps per byte = 1 / mean generated patch length. The flags
// must equal offline patching of the whole sequence.
TEST(Generate, GlobalStepsPerByteIsOnePerGeneratedPatch) {
  const auto m = entropy_blt(128);
  for (const std::string prompt : {"the cat", "a dog in the fog"}) {
    const auto r = gen::generate(&m, nullptr, {prompt}, greedy(90)).at(0);
    ASSERT_EQ(r.finish, "length");
    ASSERT_EQ(r.context_cuts, 0);
    ASSERT_EQ(r.text.size(), r.ids.size()) << "every generated id must be a byte for this check";
    ASSERT_EQ(r.patch_starts.size(), r.text.size());
    const int64_t opened = std::count(r.patch_starts.begin() + 1, r.patch_starts.end(), 1);
    EXPECT_EQ(r.generated_global_steps, opened) << prompt;
    // The test needs patches longer than one byte and of varying length.
    const int64_t n_patches = std::count(r.patch_starts.begin(), r.patch_starts.end(), 1);
    ASSERT_GT(n_patches, 5) << prompt;
    ASSERT_LT(n_patches, static_cast<int64_t>(r.text.size()) * 3 / 4) << prompt;

    // Offline: patch the sequence without its last byte (lengths include the next token, so they cover it).
    std::vector<int32_t> seq = data::encode(prompt, true, false);
    const size_t n_prompt = seq.size();
    seq.insert(seq.end(), r.ids.begin(), r.ids.end() - 1);
    patching::RowPatcher rp(m.patcher, m.entropy_lm(), m.args.eos_id);
    patching::PatchLayout layout;
    rp.layout(seq, 1, static_cast<int64_t>(seq.size()), layout);
    std::vector<char> offline(seq.size() + 1, 0);
    int64_t start = 0;
    for (int64_t p = 0; p < layout.P; ++p) {
      offline[start] = 1;
      start += layout.lengths[p];
    }
    EXPECT_EQ(start, static_cast<int64_t>(seq.size()) + 1);
    EXPECT_EQ(r.patch_starts, std::vector<char>(offline.begin() + n_prompt, offline.end())) << prompt;
  }
}

TEST(Generate, MaxBytesEndsARow) {
  const auto m = entropy_blt(64);
  const auto r = gen::generate(&m, nullptr, {"the"}, greedy(9)).at(0);
  EXPECT_EQ(r.finish, "length");
  EXPECT_EQ(r.ids.size(), 9u);
  EXPECT_EQ(r.text, data::decode(r.ids));
  const auto none = gen::generate(&m, nullptr, {"the", ""}, greedy(0));
  ASSERT_EQ(none.size(), 2u);
  for (const auto& n : none) {
    EXPECT_EQ(n.finish, "length");
    EXPECT_TRUE(n.ids.empty());
    EXPECT_TRUE(n.text.empty());
    EXPECT_EQ(n.global_steps, 0);
  }
}

TEST(Generate, StopStringEndsARow) {
  const auto m = entropy_blt(64);
  for (const bool cache : {true, false}) {
    const auto full = gen::generate(&m, nullptr, {"the cat"}, greedy(40, cache)).at(0);
    ASSERT_EQ(full.text.size(), 40u);
    const std::string stop = full.text.substr(12, 3);
    const size_t at = full.text.find(stop);  // the first place the text ends with the stop
    auto o = greedy(40, cache);
    o.stop = {"\x01never", stop};
    std::string streamed;
    const auto r =
        gen::generate(&m, nullptr, {"the cat"}, o, [&](int64_t, std::string_view t, std::span<const char>) {
          streamed += t;
        }).at(0);
    EXPECT_EQ(r.finish, "stop");
    EXPECT_EQ(r.text, full.text.substr(0, at)) << "stop '" << stop << "'";
    EXPECT_EQ(streamed, r.text);
    EXPECT_EQ(r.ids.size(), at + stop.size()) << "the row must end on the stop's last byte";
    EXPECT_EQ(r.patch_starts.size(), r.text.size());
  }
}

// Sampling from a random model at temperature 1 draws EOS now and then: a row that draws it ends there.
void expect_eos_ends_rows(const modeldir::BltModel* m, const lm::LMTransformer* lm) {
  const std::vector<std::string> prompts(16, "x");
  const int64_t max_bytes = 200;
  const auto rs = gen::generate(m, lm, prompts, sampled(max_bytes, 1));
  int n_eos = 0, n_length = 0;
  for (size_t r = 0; r < rs.size(); ++r) {
    const auto& x = rs[r];
    const auto eos = std::find(x.ids.begin(), x.ids.end(), data::kEosId);
    if (eos != x.ids.end()) {
      ++n_eos;
      EXPECT_EQ(x.finish, "eos") << "row " << r;
      EXPECT_EQ(eos + 1, x.ids.end()) << "row " << r << " went on after EOS";
    } else {
      ++n_length;
      EXPECT_EQ(x.finish, "length") << "row " << r;
      EXPECT_EQ(static_cast<int64_t>(x.ids.size()), max_bytes) << "row " << r;
    }
    EXPECT_EQ(x.text, data::decode(x.ids)) << "row " << r;
  }
  EXPECT_GT(n_eos, 0) << "no row drew EOS: the test checks nothing";
  EXPECT_GT(n_length, 0);
}

TEST(Generate, EosEndsARowBlt) {
  const auto m = entropy_blt(64);
  expect_eos_ends_rows(&m, nullptr);
}

TEST(Generate, EosEndsARowByteLm) {
  const auto lm = byte_lm(64, 16);
  expect_eos_ends_rows(nullptr, lm.model.get());
}

// A model that always predicts a non-byte id (zero output weights: every logit 0, argmax id 0 = BOE) adds no
// text; the row must still end after max_bytes steps.
TEST(Generate, RowEndsAtMaxBytesWhenNoByteIsGenerated) {
  auto lm = byte_lm(24, 8);
  lm.params->value(*lm.params->find("output.weight")).zero();
  for (const bool cache : {true, false}) {
    const auto r = gen::generate(nullptr, lm.model.get(), {"hi"}, greedy(30, cache)).at(0);
    EXPECT_EQ(r.finish, "length");
    EXPECT_EQ(r.ids, std::vector<int32_t>(30, data::kBoeId));
    EXPECT_TRUE(r.text.empty());
  }
}

TEST(Generate, OfficialLayoutCachedEqualsRecompute) {
  const auto m = modeldir::BltModel::load("tests/golden/official_layout");
  const auto [a, b] = cached_and_recompute(&m, nullptr, "Hello", greedy(40));
  expect_same_output(a, b, "official layout");
  EXPECT_FALSE(a.ids.empty());
  EXPECT_GT(a.generated_global_steps, 0);
  const auto [c, d] = cached_and_recompute(&m, nullptr, "Hello", sampled(40, 2));
  expect_same_output(c, d, "official layout, sampled");
}

TEST(Generate, RejectsBadArguments) {
  const auto m = entropy_blt(64);
  const auto lm = byte_lm(24, 8);
  EXPECT_THROW(gen::generate(nullptr, nullptr, {"a"}, greedy(4)), ConfigError);
  EXPECT_THROW(gen::generate(&m, lm.model.get(), {"a"}, greedy(4)), ConfigError);
  EXPECT_THROW(gen::generate(&m, nullptr, {"a"}, greedy(-1)), ConfigError);
  EXPECT_TRUE(gen::generate(&m, nullptr, {}, greedy(4)).empty());
}

}  // namespace
}  // namespace blt::test
