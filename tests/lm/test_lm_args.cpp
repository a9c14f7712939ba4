// LMTransformerArgs parsing refuses hostile or absurd entropy-model configs
// with a ConfigError naming the field: head_dim 0 (a division by zero in
// heads() before), floats in integer fields, sizes past the limits.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "lm/lm_args.h"
#include "support/config_checks.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

using nlohmann::json;

template <class Edit>
void expect_refused(Edit edit, std::vector<std::string> needles) {
  json j = lm::to_json(tiny_lm_args());
  edit(j);
  expect_config_error([&] { lm::parse_lm_args(j, "params.json: entropy_model"); }, needles);
}

TEST(LMArgs, HeadDimZeroIsRefusedNotADivisionByZero) {
  expect_refused([](json& j) {
    j["n_heads"] = nullptr;
    j["n_kv_heads"] = nullptr;
    j["head_dim"] = 0;
  }, {"params.json", "'head_dim'"});
  expect_refused([](json& j) {
    j["n_heads"] = nullptr;
    j["n_kv_heads"] = nullptr;
    j["head_dim"] = 64;  // larger than dim 32: zero heads
  }, {"'head_dim'"});
}

TEST(LMArgs, FloatsInIntegerFieldsAreRefused) {
  expect_refused([](json& j) { j["dim"] = 32.5; }, {"'dim'", "integer"});
  expect_refused([](json& j) { j["n_layers"] = 1e30; }, {"'n_layers'"});
}

TEST(LMArgs, AbsurdSizesAreRefusedNamingTheField) {
  const int64_t huge = int64_t{1} << 40;
  for (const char* f : {"dim", "n_layers", "n_heads", "max_seqlen", "sliding_window"})
    expect_refused([&](json& j) { j[f] = huge; }, {std::string("'") + f + "'"});
  expect_refused([](json& j) { j["ffn_dim_multiplier"] = 1e300; }, {"'ffn_dim_multiplier'"});
  expect_refused([](json& j) { j["ffn_dim_multiplier"] = -2.0; }, {"'ffn_dim_multiplier'"});
  expect_refused([](json& j) { j["multiple_of"] = std::numeric_limits<int64_t>::max(); }, {"'multiple_of'"});
  expect_refused([](json& j) {
    j["dim"] = 65536;
    j["n_heads"] = 512;
    j["n_kv_heads"] = nullptr;
    j["n_layers"] = 1000;
  }, {"2^36"});
}

}  // namespace
}  // namespace blt::test
