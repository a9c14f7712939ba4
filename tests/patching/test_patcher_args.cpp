// PatcherArgs: reference defaults, parsing of a reference patcher_args object
// (including fields of older reference versions), JSON round trip,
// unknown-field warnings and validation errors naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/json_fields.h"
#include "patching/patcher_args.h"
#include "support/config_checks.h"

namespace blt::test {
namespace {

using nlohmann::json;
using patching::PatcherArgs;
using patching::PatchingMode;


TEST(PatcherArgs, ReferenceDefaults) {
  const PatcherArgs a = patching::parse_patcher_args(json::object(), "patcher_args");
  EXPECT_EQ(a.patching_mode, PatchingMode::Entropy);
  EXPECT_EQ(a.threshold, 1.335442066192627);
  EXPECT_EQ(static_cast<double>(static_cast<float>(a.threshold)), a.threshold);  // exactly a float32
  EXPECT_FALSE(a.threshold_add);
  EXPECT_FALSE(a.max_patch_length);
  EXPECT_EQ(a.patch_size, 4.5);
  EXPECT_EQ(a.patching_batch_size, 1);
  EXPECT_FALSE(a.monotonicity);
  EXPECT_FALSE(a.realtime_patching);
  EXPECT_EQ(a.patching_device, "cuda");
  EXPECT_EQ(a.device, "cuda");
}

TEST(PatcherArgs, ParsesReferenceObjectAndRoundTrips) {
  // As in a released entropy_model/params.json -> data.patcher_args (plus an older-version field).
  const json j = json::parse(R"({
    "patching_mode": "entropy", "patching_device": "cuda", "entropy_model_checkpoint_dir": "hf/entropy_model",
    "realtime_patching": true, "threshold": 1.335442066192627, "threshold_add": null,
    "max_patch_length": null, "patch_size": 4.5, "patching_batch_size": 1, "device": "cuda", "monotonicity": false, "log_time": false,
    "data_loader_patching": true})");
  WarningCapture w;
  const PatcherArgs a = patching::parse_patcher_args(j, "params.json: data.patcher_args");
  EXPECT_TRUE(w.messages.empty());
  EXPECT_TRUE(a.realtime_patching);
  EXPECT_EQ(*a.entropy_model_checkpoint_dir, "hf/entropy_model");
  const PatcherArgs b = patching::parse_patcher_args(patching::to_json(a), "round trip");
  EXPECT_EQ(patching::to_json(b), patching::to_json(a));

  PatcherArgs c;
  c.patching_mode = PatchingMode::Static;
  c.patch_size = 4;
  c.threshold_add = 0.25;
  c.max_patch_length = 16;
  c.monotonicity = true;
  const PatcherArgs d = patching::parse_patcher_args(patching::to_json(c), "round trip");
  EXPECT_EQ(d.patching_mode, PatchingMode::Static);
  EXPECT_EQ(d.static_patch_size(), 4);
  EXPECT_EQ(*d.threshold_add, 0.25);
  EXPECT_EQ(*d.max_patch_length, 16);
  EXPECT_TRUE(d.monotonicity);
  for (const char* m : {"entropy", "bpe", "space", "static", "byte"})
    EXPECT_EQ(patching::to_string(patching::parse_patching_mode(m)), m);
}

TEST(PatcherArgs, UnknownFieldWarns) {
  WarningCapture w;
  patching::parse_patcher_args(json::parse(R"({"patching_threshold": 2.0})"), "patcher_args");
  ASSERT_EQ(w.messages.size(), 1u);
  EXPECT_NE(w.messages[0].find("patching_threshold"), std::string::npos);
}

TEST(PatcherArgs, ValidationErrorsNameTheField) {
  auto parse = [](const char* text) { return patching::parse_patcher_args(json::parse(text), "cfg"); };
  expect_config_error([&] { parse(R"({"threshold": -1.0})"); }, {"cfg", "'threshold'", "negative"});
  expect_config_error([&] { parse(R"({"max_patch_length": 0})"); }, {"'max_patch_length'", "[1, 16777216]"});
  expect_config_error([&] { parse(R"({"patching_mode": "static"})"); }, {"'patch_size'", "4.5", "static"});
  expect_config_error([&] { parse(R"({"patching_mode": "static", "patch_size": 0})"); }, {"'patch_size'"});
  expect_config_error([&] { parse(R"({"patching_mode": "bpe_patcher"})"); },
                      {"cfg", "'patching_mode'", "bpe_patcher"});
  expect_config_error([&] { parse(R"({"patching_mode": "tokens"})"); }, {"'patching_mode'", "tokens"});
  expect_config_error([&] { parse(R"({"threshold": "high"})"); }, {"'threshold'", "number"});
  expect_config_error([&] { parse(R"({"patching_batch_size": 0})"); }, {"'patching_batch_size'"});
  // Upper bounds: a patch no longer than the longest sequence (2^24), a batch of at most 2^20.
  expect_config_error([&] { parse(R"({"max_patch_length": 9223372036854775807})"); },
                      {"cfg", "'max_patch_length'", "16777216", "9223372036854775807"});
  expect_config_error([&] { parse(R"({"patching_mode": "static", "patch_size": 2147483647})"); },
                      {"'patch_size'", "16777216"});
  expect_config_error([&] { parse(R"({"patch_size": 1e300})"); }, {"'patch_size'", "16777216"});
  expect_config_error([&] { parse(R"({"patching_batch_size": 4611686018427387904})"); },
                      {"'patching_batch_size'", "1048576"});
  EXPECT_NO_THROW(parse(R"({"max_patch_length": 16777216, "patching_batch_size": 1048576})"));
  EXPECT_NO_THROW(parse(R"({"patching_mode": "static", "patch_size": 16777216})"));
  PatcherArgs nan_args;
  nan_args.threshold = std::nan("");
  expect_config_error([&] { nan_args.validate("args"); }, {"'threshold'", "NaN"});
  // Beyond float32 (the patchers' comparison type): no float value, refused with the figure.
  expect_config_error([&] { parse(R"({"threshold": 1e300})"); }, {"'threshold'", "float32", "1e+300"});
  expect_config_error([&] { parse(R"({"threshold_add": -1e39})"); }, {"'threshold_add'", "float32", "-1e+39"});
  EXPECT_NO_THROW(parse(R"({"threshold": 3.4e38})"));
  EXPECT_NO_THROW(parse(R"({"patching_mode": "static", "patch_size": 6})"));
  EXPECT_NO_THROW(parse(R"({"patching_mode": "static", "patch_size": 6.0})"));
}

}  // namespace
}  // namespace blt::test
