// What a streamed `blt patch` relies on: IncrementalPatcher::take_closed hands out the
// closed patches as they are decided and, with the last patch added at the end (less
// its next-token position without include_next_token), gives exactly the offline
// patch_lengths of the whole sequence in every mode but bpe; PatchStatsAccumulator fed
// in pieces gives patch_stats of the whole.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "patching/incremental.h"
#include "patching/patcher.h"
#include "patching/stats.h"
#include "random_inputs.h"

namespace blt::test {
namespace {

// Pushes everything, taking the closed patches at random moments; then the end of the stream.
std::vector<int32_t> streamed_lengths(const patching::PatcherArgs& args, const std::vector<int32_t>& tokens,
                                      const std::vector<float>& entropies, bool include_next_token,
                                      std::mt19937& rng) {
  patching::IncrementalPatcher p(args);
  std::vector<int32_t> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    p.push(tokens[i], entropies[i]);
    if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
      p.take_closed(out);
      EXPECT_EQ(p.n_patches(), 1);  // only the open patch is kept
    }
  }
  p.take_closed(out);
  out.insert(out.end(), p.lengths().begin(), p.lengths().end());
  if (!include_next_token && --out.back() == 0) out.pop_back();
  return out;
}

TEST(Streaming, TakeClosedThenTheLastPatchEqualsOffline) {
  std::mt19937 rng(7);
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    patching::PatcherArgs args = random_args(rng);
    if (args.patching_mode == patching::PatchingMode::Bpe) continue;
    const size_t n = std::uniform_int_distribution<size_t>(1, 120)(rng);
    std::vector<int32_t> tokens = random_tokens(rng, n);
    const std::vector<float> h = random_entropies(rng, n);
    for (bool next : {false, true}) {
      const std::vector<int32_t> offline = patching::patch_lengths(args, tokens, h, next);
      ASSERT_EQ(streamed_lengths(args, tokens, h, next, rng), offline)
          << "trial " << trial << " mode " << patching::to_string(args.patching_mode) << " next " << next;
      ++checked;
    }
  }
  EXPECT_GT(checked, 3000);
}

TEST(Streaming, TakeClosedIsRefusedInBpeMode) {
  patching::PatcherArgs args;
  args.patching_mode = patching::PatchingMode::Bpe;
  patching::IncrementalPatcher p(args);
  p.push(1, 0);
  std::vector<int32_t> out;
  EXPECT_THROW(p.take_closed(out), InternalError);
}

TEST(Streaming, StatsInPiecesEqualTheWhole) {
  std::mt19937 rng(3);
  std::vector<int32_t> all;
  patching::PatchStatsAccumulator acc;
  for (int piece = 0; piece < 50; ++piece) {
    std::vector<int32_t> lengths(std::uniform_int_distribution<size_t>(0, 20)(rng));
    for (int32_t& l : lengths) l = std::uniform_int_distribution<int32_t>(0, 80)(rng);
    acc.add(lengths);
    all.insert(all.end(), lengths.begin(), lengths.end());
    const patching::PatchStats a = acc.stats(), b = patching::patch_stats(all);
    ASSERT_EQ(a.n_patches, b.n_patches);
    ASSERT_EQ(a.n_positions, b.n_positions);
    ASSERT_EQ(a.median, b.median);
    ASSERT_EQ(a.min, b.min);
    ASSERT_EQ(a.max, b.max);
    ASSERT_EQ(patching::format_patch_stats(a), patching::format_patch_stats(b));
  }
  // A known case: median of an even count is the mean of the middle two.
  patching::PatchStatsAccumulator two;
  two.add(std::vector<int32_t>{4, 0, 1});
  two.add(std::vector<int32_t>{9, 2});
  const patching::PatchStats s = two.stats();
  EXPECT_EQ(s.n_patches, 4);
  EXPECT_EQ(s.median, 3.0);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 9);
  EXPECT_THROW(two.add(std::vector<int32_t>{-1}), ShapeError);
}

}  // namespace
}  // namespace blt::test
