// RowGeneration, the state machine gen::generate steps: its chunks (taken
// after every step) concatenate to the result's text, patch flags and ids,
// each chunk's text ends on a whole UTF-8 character, and the per-byte
// entropies are those offline patching compared with the threshold (the
// entropy model's entropy of the position before each byte), cached and
// recompute alike, through a context cut and a stop string too.
#include <gtest/gtest.h>

#include "data/tokenizer.h"
#include "generate/entropy_blt.h"
#include "generate/row_generation.h"

namespace blt::test {
namespace {

const std::string kText = "the cat sat on the mat and then it ran off to see a dog in the fog ";

gen::GenerateOptions sampled(int64_t max_bytes, uint64_t seed, bool cache) {
  gen::GenerateOptions o;
  o.max_bytes = max_bytes;
  o.sampler = {.temperature = 1, .top_k = 0, .top_p = 1, .seed = seed};
  o.cache = cache;
  return o;
}

// Does a chunk boundary at byte p of `text` fall inside a character (a lead byte before p whose
// continuation bytes, all present in text, run past p)?
bool splits_a_character(const std::string& text, size_t p) {
  for (size_t q = p; q > 0 && p - q < 3;) {
    const auto lead = static_cast<unsigned char>(text[--q]);
    if ((lead & 0xC0) == 0x80) continue;
    const size_t n = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
    if (q + n <= p || q + n > text.size()) return false;
    for (size_t k = q + 1; k < q + n; ++k)
      if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) return false;
    return true;
  }
  return false;
}

// Steps a row to the end, checking its chunks against its result -> the result.
gen::GenerationResult run_row(const modeldir::BltModel& m, const std::string& prompt, const gen::GenerateOptions& o) {
  gen::RowGeneration row(&m, nullptr, prompt, 0, o);
  std::string text;
  std::vector<char> starts;
  std::vector<float> entropies;
  std::vector<int32_t> ids;
  std::vector<size_t> boundaries;
  while (!row.done()) {
    row.step();
    const gen::RowChunk c = row.take();
    text += c.text;
    starts.insert(starts.end(), c.patch_starts.begin(), c.patch_starts.end());
    entropies.insert(entropies.end(), c.entropies.begin(), c.entropies.end());
    ids.insert(ids.end(), c.ids.begin(), c.ids.end());
    EXPECT_EQ(c.patch_starts.size(), c.text.size());
    EXPECT_EQ(c.entropies.size(), c.text.size());
    if (!c.text.empty()) boundaries.push_back(text.size());
  }
  gen::GenerationResult r = row.result();
  EXPECT_EQ(text, r.text);
  EXPECT_EQ(starts, r.patch_starts);
  EXPECT_EQ(entropies, r.entropies);
  EXPECT_EQ(ids, r.ids);
  for (size_t p : boundaries) EXPECT_FALSE(splits_a_character(r.text, p)) << "a chunk ends inside a character at " << p;
  return r;
}

TEST(RowGeneration, ChunksAndEntropiesMatchTheResultAndOfflinePatching) {
  const auto m = entropy_blt(128, kText);
  for (const bool cache : {true, false}) {
    const auto r = run_row(m, "the cat", sampled(60, 3, cache));
    ASSERT_EQ(r.context_cuts, 0);
    ASSERT_EQ(r.entropies.size(), r.text.size());
    ASSERT_GT(r.text.size(), 40u);
    // Offline: the entropies of the whole sequence; the byte generated as id k sits at position n_prompt + k
    // and is decided by the entropy of the position before it.
    std::vector<int32_t> seq = data::encode("the cat", true, false);
    const size_t n_prompt = seq.size();
    seq.insert(seq.end(), r.ids.begin(), r.ids.end());
    patching::RowPatcher rp(m.patcher, m.entropy_lm(), m.args.eos_id);
    std::vector<float> h;
    rp.row_entropies(seq, 1, static_cast<int64_t>(seq.size()), h);
    size_t i = 0;  // byte of the text
    for (size_t k = 0; k < r.ids.size(); ++k) {
      if (r.ids[k] < data::kOffset) continue;
      const float before = h[n_prompt + k - 1];
      EXPECT_NEAR(r.entropies[i], before, 1e-4) << "byte " << i << (cache ? " cached" : " recompute");
      EXPECT_EQ(r.patch_starts[i] != 0, before > static_cast<float>(m.patcher.threshold)) << i;
      ++i;
    }
    EXPECT_EQ(i, r.text.size());
    // The same as gen::generate's row.
    const auto g = gen::generate(&m, nullptr, {"the cat"}, sampled(60, 3, cache)).at(0);
    EXPECT_EQ(g.text, r.text);
    EXPECT_EQ(g.entropies, r.entropies);
  }
}

TEST(RowGeneration, CachedAndRecomputeEntropiesAgreeThroughCutsAndStops) {
  const auto m = entropy_blt(28, kText);
  auto o = sampled(70, 12, true);
  const auto full = run_row(m, "on the", o);
  ASSERT_GE(full.context_cuts, 2);
  o.cache = false;
  const auto ref = run_row(m, "on the", o);
  ASSERT_EQ(full.text, ref.text);
  ASSERT_EQ(full.entropies.size(), ref.entropies.size());
  for (size_t i = 0; i < full.entropies.size(); ++i) EXPECT_NEAR(full.entropies[i], ref.entropies[i], 1e-4) << i;
  ASSERT_GT(full.text.size(), 20u);
  o.cache = true;
  o.stop = {full.text.substr(15, 2)};
  const auto stopped = run_row(m, "on the", o);
  EXPECT_EQ(stopped.finish, "stop");
  EXPECT_EQ(stopped.entropies, std::vector<float>(full.entropies.begin(), full.entropies.begin() + stopped.text.size()));
}

TEST(RowGeneration, AByteLmHasNoEntropies) {
  auto lm = modeldir::EntropyModel::create(tiny_lm_args(24, 8), {});
  Rng init(5);
  lm.params->initialize(init);
  gen::RowGeneration row(nullptr, lm.model.get(), "hi", 0, sampled(10, 1, true));
  while (!row.done()) {
    row.step();
    EXPECT_TRUE(row.take().entropies.empty());
  }
  EXPECT_TRUE(row.result().entropies.empty());
}

}  // namespace
}  // namespace blt::test
