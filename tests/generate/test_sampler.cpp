// Sampler: greedy at temperature 0, the nucleus cut, top-k, seeded
// reproducibility, the empirical distribution at temperature 1 against
// softmax, and the settings it rejects.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "generate/sampler.h"

namespace blt::test {
namespace {

TEST(Sampler, GreedyAtTemperatureZero) {
  gen::Sampler s({.temperature = 0, .top_p = 1, .seed = 1});
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, MatchesSoftmaxAtTemperatureOne) {
  gen::Sampler s({.temperature = 1, .top_p = 1, .seed = 3});
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f};
  std::vector<int> counts(3);
  const int n = 60000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
  const double z = 1 + std::exp(1.0) + std::exp(2.0);
  for (int v = 0; v < 3; ++v) EXPECT_NEAR(counts[v] / double(n), std::exp(double(v)) / z, 0.01) << "id " << v;
}

TEST(Sampler, NucleusDropsTheTail) {
  // p ≈ (0.665, 0.245, 0.090): top_p 0.8 keeps ids 2 and 1 only.
  gen::Sampler s({.temperature = 1, .top_p = 0.8, .seed = 5});
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f};
  for (int i = 0; i < 5000; ++i) EXPECT_NE(s.sample(logits), 0);
}

TEST(Sampler, SeedReproduces) {
  const std::vector<float> logits = {0.3f, 0.1f, 0.5f, 0.2f, 0.0f};
  gen::Sampler a({.temperature = 1, .top_p = 0.9, .seed = 11}),
      b({.temperature = 1, .top_p = 0.9, .seed = 11});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(logits), b.sample(logits));
}

TEST(Sampler, TopKOneIsGreedy) {
  Rng rng(21);
  std::vector<float> logits(260);
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    for (float& l : logits) l = static_cast<float>(rng.uniform() * 4 - 2);
    gen::Sampler greedy({.temperature = 0, .top_p = 1, .seed = seed});
    gen::Sampler k1({.temperature = 1.5, .top_k = 1, .top_p = 1, .seed = seed});
    const int32_t want = greedy.sample(logits);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(k1.sample(logits), want) << "seed " << seed;
  }
}

TEST(Sampler, TopKTwoNeverReturnsTheThird) {
  // Ranks: id 3 (2.0), id 1 (1.9), id 0 (1.8), then the rest; nearly equal, so a wrong cut would show.
  const std::vector<float> logits = {1.8f, 1.9f, -1.0f, 2.0f, 0.5f};
  gen::Sampler s({.temperature = 1, .top_k = 2, .top_p = 1, .seed = 9});
  std::vector<int> counts(logits.size());
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2] + counts[4], 0);
  // Among the two kept, softmax renormalized: p(3) = 1 / (1 + e^-0.1) ≈ 0.525.
  EXPECT_NEAR(counts[3] / double(n), 1 / (1 + std::exp(-0.1)), 0.015);
  EXPECT_EQ(counts[1] + counts[3], n);
}

TEST(Sampler, TopKAtLeastTheVocabularyKeepsEverything) {
  const std::vector<float> logits = {0.0f, 0.0f, 0.0f};
  gen::Sampler s({.temperature = 1, .top_k = 7, .top_p = 1, .seed = 4});
  std::vector<int> counts(3);
  for (int i = 0; i < 3000; ++i) ++counts[s.sample(logits)];
  for (int v = 0; v < 3; ++v) EXPECT_GT(counts[v], 800) << "id " << v;
}

TEST(Sampler, RejectsBadSettings) {
  EXPECT_THROW(gen::Sampler({.temperature = -1, .top_p = 1, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = -1e-9, .top_p = 1, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = std::nan(""), .top_p = 1, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = 1, .top_p = 0, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = 1, .top_p = -0.5, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = 1, .top_p = 1.5, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = 1, .top_p = 1.0000001, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = 1, .top_p = std::nan(""), .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = 1, .top_k = -1, .top_p = 1, .seed = 1}), ConfigError);
  // The edges that are allowed.
  EXPECT_NO_THROW(gen::Sampler({.temperature = 0, .top_k = 0, .top_p = 1, .seed = 1}));
  EXPECT_NO_THROW(gen::Sampler({.temperature = 1, .top_k = 1, .top_p = 1e-6, .seed = 1}));
}

}  // namespace
}  // namespace blt::test
