// Hash n-gram ids against the oracle's test vectors and the signed floor-modulo case.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/hash_ngram.h"
#include "support/fixtures.h"

namespace blt::test {
namespace {

TEST(HashNgram, MatchesOracleVectors) {
  const auto path = fixture("oracle/hash_cases.json");
  BLT_REQUIRE_FIXTURE(path);
  nlohmann::json j = nlohmann::json::parse(std::ifstream(path));
  std::vector<uint64_t> primes = j["primes"].get<std::vector<uint64_t>>();
  ASSERT_EQ(primes, std::vector<uint64_t>(std::begin(model::kHashPrimes), std::end(model::kHashPrimes)));
  int n = 0;
  for (const auto& c : j["cases"]) {
    auto tokens = c["tokens"].get<std::vector<int32_t>>();
    auto expect = c["ids"].get<std::vector<int32_t>>();
    std::vector<int32_t> got(tokens.size());
    model::hash_ngram_ids(tokens, 1, static_cast<int64_t>(tokens.size()), c["group_size"], c["hash_func_nb"],
                          c["max_hash"], got);
    EXPECT_EQ(got, expect) << "group " << c["group_size"] << " func " << c["hash_func_nb"] << " vocab " << c["max_hash"];
    ++n;
  }
  EXPECT_EQ(n, 36);
}

TEST(HashNgram, SignedFloorModuloAfterWrap) {
  // 10·p0² wraps past 2^63: the reference's floor modulo of the negative int64 is 36350 (vocab 500002)
  // and 440 (vocab 509), computed with Python big integers; an unsigned modulo would differ.
  std::vector<int32_t> t = {0, 0, 10}, out(3);
  model::hash_ngram_ids(t, 1, 3, 3, 0, 500002, out);
  EXPECT_EQ(out[2], 36350);
  model::hash_ngram_ids(t, 1, 3, 3, 0, 509, out);
  EXPECT_EQ(out[2], 440);
}

TEST(HashNgram, ZeroPrefixAndRowsIndependent) {
  // Position 0 of group 3 sees [0, 0, t0]: equal to hashing an explicit zero prefix.
  std::vector<int32_t> a = {9, 8, 7, 6}, b = {0, 0, 9, 8, 7, 6}, oa(4), ob(6);
  model::hash_ngram_ids(a, 1, 4, 3, 1, 509, oa);
  model::hash_ngram_ids(b, 1, 6, 3, 1, 509, ob);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(oa[i], ob[i + 2]);
  // Two rows: the second row restarts with its own zero prefix.
  std::vector<int32_t> two = {9, 8, 7, 6, 9, 8, 7, 6}, o2(8);
  model::hash_ngram_ids(two, 2, 4, 3, 1, 509, o2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(o2[4 + i], oa[i]);
}

}  // namespace
}  // namespace blt::test
