// `blt bench serve` in its smallest configuration: every round streams what it asked for (greedy on the
// random bench model, so no early EOS), and the figures are there and consistent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/temp_dir.h"
#include "tools/run_blt.h"

namespace blt::test {
namespace {

TEST(CliBench, ServeStreamsEveryRound) {
  TempDir tmp;
  const Result r = run_blt({"bench", "serve", "--json", "--clients", "1", "2", "--bytes", "3", "--prompt-bytes", "16"},
                           tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const auto& rounds = j.at("rounds");
  ASSERT_EQ(rounds.size(), 2u);
  for (size_t i = 0; i < rounds.size(); ++i) {
    const auto& x = rounds[i];
    const int64_t clients = static_cast<int64_t>(i) + 1;
    EXPECT_EQ(x.at("clients").get<int64_t>(), clients);
    EXPECT_EQ(x.at("bytes").get<int64_t>(), 3 * clients);
    EXPECT_EQ(x.at("finish"), nlohmann::json({{"length", clients}}));
    EXPECT_GT(x.at("aggregate_bytes_per_s").get<double>(), 0);
    EXPECT_GT(x.at("ttfb_median_s").get<double>(), 0);
  }
  EXPECT_EQ(rounds[0].at("aggregate_over_first").get<double>(), 1.0);
}

TEST(CliBench, ServeRefusesABadClientCount) {
  TempDir tmp;
  const Result r = run_blt({"bench", "serve", "--clients", "0"}, tmp.path());
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(contains(r.err, "--clients 0: must be in 1..64")) << r.err;
}

}  // namespace
}  // namespace blt::test
