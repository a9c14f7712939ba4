// BltArgs parsing refuses hostile or absurd configurations with a ConfigError
// naming the field, before anything is allocated: head_dim 0, floats in
// integer fields, sizes past the limits, missing stack sizes, unknown
// patching modes.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "model/blt_args.h"
#include "support/config_checks.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

using nlohmann::json;

// A valid config.json "args" object, with `edit` applied.
template <class Edit>
void expect_refused(Edit edit, std::vector<std::string> needles) {
  json j = model::to_json(tiny_blt_args());
  edit(j);
  expect_config_error([&] { model::parse_blt_args(j, "config.json: args"); }, needles);
}

TEST(BltArgs, TinyConfigRoundTrips) {
  const model::BltArgs a = model::parse_blt_args(model::to_json(tiny_blt_args()), "args");
  EXPECT_EQ(a.dim_global, 32);
}

TEST(BltArgs, HeadDimZeroOrTooLargeIsRefused) {
  expect_refused([](json& j) { j["head_dim"] = 0; }, {"config.json", "'head_dim'"});
  expect_refused([](json& j) { j["head_dim"] = -4; }, {"'head_dim'"});
}

TEST(BltArgs, FloatsInIntegerFieldsAreRefused) {
  expect_refused([](json& j) { j["encoder_hash_byte_group_size"] = json::parse("[3.5, 4]"); },
                 {"'encoder_hash_byte_group_size'", "integer"});
  expect_refused([](json& j) { j["dim_global"] = 32.5; }, {"'dim_global'", "integer"});
  expect_refused([](json& j) { j["max_seqlen"] = 1e30; }, {"'max_seqlen'"});
}

TEST(BltArgs, AbsurdSizesAreRefusedNamingTheField) {
  const int64_t huge = int64_t{1} << 40;
  for (const char* f : {"dim_global", "dim_local_encoder", "n_layers_global", "n_layers_local_decoder",
                        "n_heads_global", "max_seqlen", "max_encoder_seq_length", "cross_attn_k",
                        "encoder_hash_byte_group_vocab", "local_attention_window_len"})
    expect_refused([&](json& j) { j[f] = huge; }, {std::string("'") + f + "'"});
  expect_refused([](json& j) { j["n_layers_global"] = 5000; }, {"'n_layers_global'"});
  expect_refused([](json& j) { j["ffn_dim_multiplier"] = 1e300; }, {"'ffn_dim_multiplier'"});
  expect_refused([](json& j) { j["ffn_dim_multiplier"] = -1.0; }, {"'ffn_dim_multiplier'"});
  expect_refused([](json& j) { j["multiple_of"] = std::numeric_limits<int64_t>::max(); }, {"'multiple_of'"});
  expect_refused([](json& j) { j["encoder_hash_byte_group_size"] = json::array({3, int64_t{1} << 40}); },
                 {"'encoder_hash_byte_group_size'"});
  // Each field within its bound, but one weight tensor (wq of the global model) past 2^34 elements.
  expect_refused([](json& j) {
    j["dim_global"] = int64_t{1} << 20;
    j["n_heads_global"] = 8;
  }, {"(global transformer)", "2^34"});
  // Per-tensor fine, the whole model past 2^36 parameters.
  expect_refused([](json& j) {
    j["dim_global"] = 16384;
    j["n_heads_global"] = 128;
    j["n_layers_global"] = 4096;
  }, {"2^36"});
}

TEST(BltArgs, StackSizesAreRequired) {
  for (const char* f : {"dim_global", "dim_local_encoder", "dim_local_decoder", "n_layers_global",
                        "n_layers_local_encoder", "n_layers_local_decoder", "n_heads_global"})
    expect_refused([&](json& j) { j.erase(f); }, {std::string("'") + f + "'", "missing"});
}

TEST(BltArgs, UnknownPatchingModeIsRefused) {
  expect_refused([](json& j) { j["patching_mode"] = "bogus"; }, {"'patching_mode'", "bogus"});
}

}  // namespace
}  // namespace blt::test
