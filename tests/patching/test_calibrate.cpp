// Threshold calibration: reaches the target on synthetic entropies, is exact
// (no threshold gives a closer mean), respects the entropy-mode options, and
// clamps unreachable targets.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "patching/calibrate.h"
#include "patching/patcher.h"

namespace blt::test {
namespace {

using patching::Calibration;
using patching::PatcherArgs;

std::vector<std::vector<float>> synthetic(uint32_t seed, int n_seqs, int len) {
  std::mt19937 rng(seed);
  std::gamma_distribution<float> g(2.0f, 0.6f);
  std::vector<std::vector<float>> out(static_cast<size_t>(n_seqs));
  for (auto& s : out)
    for (int i = 0; i < len; ++i) s.push_back(g(rng));
  return out;
}

double mean_at(PatcherArgs a, double t, const std::vector<std::vector<float>>& h, bool inc) {
  a.threshold = t;
  int64_t pos = 0, n = 0;
  for (const auto& s : h) {
    const std::vector<int32_t> tok(s.size(), 70);
    for (int32_t l : patching::patch_lengths(a, tok, s, inc)) {
      pos += l;
      ++n;
    }
  }
  return static_cast<double>(pos) / static_cast<double>(n);
}

TEST(Calibrate, ReachesTargetMeanPatchSize) {
  const auto h = synthetic(5, 4, 1500);
  for (double target : {2.0, 4.5, 8.0}) {
    const Calibration c = patching::calibrate_threshold(PatcherArgs{}, h, target);
    EXPECT_FALSE(c.clamped);
    EXPECT_NEAR(c.achieved_mean, target, 0.02 * target) << "target " << target;
    EXPECT_GE(c.threshold, 0);
    // The reported mean is what patching at the returned threshold gives.
    EXPECT_DOUBLE_EQ(mean_at(PatcherArgs{}, c.threshold, h, false), c.achieved_mean);
    EXPECT_EQ(c.n_positions, 4 * 1500);
  }
}

TEST(Calibrate, NoThresholdIsCloser) {
  const auto h = synthetic(17, 2, 60);
  PatcherArgs a;
  for (bool mono : {false, true})
    for (int64_t max_len : {0, 5}) {
      a.monotonicity = mono;
      a.max_patch_length.reset();
      if (max_len) a.max_patch_length = max_len;
      const double target = 3.3;
      const Calibration c = patching::calibrate_threshold(a, h, target, true);
      EXPECT_DOUBLE_EQ(mean_at(a, c.threshold, h, true), c.achieved_mean);
      for (double t = 0; t < 6; t += 0.01)
        EXPECT_GE(std::abs(mean_at(a, t, h, true) - target) + 1e-12, std::abs(c.achieved_mean - target))
            << "threshold " << t << " beats " << c.threshold;
    }
}

TEST(Calibrate, ClampsUnreachableTargets) {
  const auto h = synthetic(3, 1, 200);
  // Below the mean at threshold 0 (here 1: every entropy is positive, so every token starts a patch).
  const Calibration lo = patching::calibrate_threshold(PatcherArgs{}, h, 0.5);
  EXPECT_TRUE(lo.clamped);
  EXPECT_GE(lo.threshold, 0.0);  // inside [0, smallest entropy): the same patches as threshold 0
  EXPECT_DOUBLE_EQ(mean_at(PatcherArgs{}, lo.threshold, h, false), lo.achieved_mean);
  EXPECT_DOUBLE_EQ(lo.achieved_mean, mean_at(PatcherArgs{}, 0.0, h, false));
  const Calibration hi = patching::calibrate_threshold(PatcherArgs{}, h, 1e6);
  EXPECT_TRUE(hi.clamped);
  EXPECT_DOUBLE_EQ(hi.achieved_mean, 100.0);  // only the forced starts: [1, 199]
}

TEST(Calibrate, RejectsBadRequests) {
  const auto h = synthetic(3, 1, 20);
  EXPECT_THROW(patching::calibrate_threshold(PatcherArgs{}, h, std::nan("")), ConfigError);
  EXPECT_THROW(patching::calibrate_threshold(PatcherArgs{}, h, -1.0), ConfigError);
  PatcherArgs space;
  space.patching_mode = patching::PatchingMode::Space;
  EXPECT_THROW(patching::calibrate_threshold(space, h, 4.0), ConfigError);
  EXPECT_THROW(patching::calibrate_threshold(PatcherArgs{}, std::vector<std::vector<float>>{}, 4.0),
               ShapeError);
}

}  // namespace
}  // namespace blt::test
