// The context rule: where a full context is cut (the first patch start at or
// after n - capacity/2, else exactly there), that the kept window is never
// empty (a patch opening right at the next token is not a cut point), and a
// prompt longer than the context. End to end: static patches longer than half
// the context, whose boundary falls on the next token when the context fills,
// generate through the overflow, cached and recompute alike.
#include <gtest/gtest.h>

#include <numeric>

#include "core/rng.h"
#include "generate/context_window.h"
#include "generate/generation.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

TEST(ContextCut, ByteLmCutsExactlyAtHalf) {
  EXPECT_EQ(gen::context_cut({}, 24, 24), 12);
  EXPECT_EQ(gen::context_cut({}, 25, 25), 13);
  EXPECT_EQ(gen::context_cut({}, 2, 2), 1);
  EXPECT_EQ(gen::context_cut({}, 1, 1), 1);
}

TEST(ContextCut, FirstPatchStartAtOrAfterHalf) {
  // 16 tokens + the next: starts 0, 1, 5, 9, 13, 16; target 8 -> 9.
  const std::vector<int32_t> lengths = {1, 4, 4, 4, 3, 1};
  ASSERT_EQ(std::accumulate(lengths.begin(), lengths.end(), 0), 17);
  EXPECT_EQ(gen::context_cut(lengths, 16, 16), 9);
  // A patch starting exactly at the target.
  EXPECT_EQ(gen::context_cut(std::vector<int32_t>{1, 7, 8, 1}, 16, 16), 8);
}

TEST(ContextCut, NoPatchStartInTheSecondHalfCutsAtHalf) {
  // One long patch holds the whole second half and the next token: cut inside it.
  EXPECT_EQ(gen::context_cut(std::vector<int32_t>{1, 3, 13}, 16, 16), 8);
}

TEST(ContextCut, PatchOpeningAtTheNextTokenIsNotACutPoint) {
  // Starts 0, 1, 16: the only start at or after 8 is the next token's, which would keep nothing.
  const std::vector<int32_t> lengths = {1, 15, 1};
  const int64_t cut = gen::context_cut(lengths, 16, 16);
  EXPECT_LT(cut, 16) << "the kept window must not be empty";
  EXPECT_EQ(cut, 8);
}

TEST(ContextCut, KeepsAtMostHalfAndNeverNothingOnRandomPatches) {
  Rng rng(3);
  for (int trial = 0; trial < 500; ++trial) {
    const int64_t capacity = 4 + static_cast<int64_t>(rng.uniform() * 60), n = capacity;
    std::vector<int32_t> lengths = {1};
    int64_t sum = 1;
    while (sum < n + 1) {
      const int32_t len = std::min<int32_t>(1 + static_cast<int32_t>(rng.uniform() * capacity), n + 1 - sum);
      lengths.push_back(len);
      sum += len;
    }
    const int64_t cut = gen::context_cut(lengths, n, capacity);
    ASSERT_GT(cut, 0) << "trial " << trial;
    ASSERT_LT(cut, n) << "trial " << trial << ": empty kept window";
    ASSERT_LE(n - cut, capacity / 2) << "trial " << trial << ": keeps more than half";
  }
}

TEST(PromptCut, KeepsTheLastHalf) {
  EXPECT_EQ(gen::prompt_cut(10, 10), 0);
  EXPECT_EQ(gen::prompt_cut(11, 10), 6);
  EXPECT_EQ(gen::prompt_cut(100, 28), 86);
  EXPECT_EQ(gen::prompt_cut(5, 1), 4);
}

// Static patches of 27 after the lone first byte: with a 28-byte context, the patch [1, 28) closes exactly
// when the context fills, so the next token opens a patch at the capacity.
TEST(ContextCut, GenerationThroughAPatchBoundaryAtTheCapacity) {
  TinyBlt t;
  t.seq = 28;
  t.window = 8;
  model::BltArgs a = tiny_blt_args(t);
  a.patching_mode = "static";
  a.validate("test");
  patching::PatcherArgs pa;
  pa.patching_mode = patching::PatchingMode::Static;
  pa.patch_size = 27;
  auto m = modeldir::BltModel::create(a, pa);
  Rng init(7);
  m.params->initialize(init);
  gen::GenerateOptions o;
  o.max_bytes = 60;
  o.sampler.temperature = 0;
  o.cache = true;
  const auto cached = gen::generate(&m, nullptr, {"ab"}, o).at(0);
  o.cache = false;
  const auto ref = gen::generate(&m, nullptr, {"ab"}, o).at(0);
  EXPECT_EQ(cached.ids, ref.ids);
  EXPECT_EQ(cached.ids.size(), 60u);
  EXPECT_GE(cached.context_cuts, 2);
  EXPECT_EQ(cached.context_cuts, ref.context_cuts);
}

}  // namespace
}  // namespace blt::test
