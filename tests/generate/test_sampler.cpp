// Sampler: greedy at temperature 0, the nucleus cut, seeded reproducibility,
// and the empirical distribution at temperature 1 against softmax.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
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
  gen::Sampler a({.temperature = 1, .top_p = 0.9, .seed = 11}), b({.temperature = 1, .top_p = 0.9, .seed = 11});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(logits), b.sample(logits));
}

TEST(Sampler, RejectsBadSettings) {
  EXPECT_THROW(gen::Sampler({.temperature = -1, .top_p = 1, .seed = 1}), ConfigError);
  EXPECT_THROW(gen::Sampler({.temperature = 1, .top_p = 0, .seed = 1}), ConfigError);
}

}  // namespace
}  // namespace blt::test
