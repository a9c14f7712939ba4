// JsonFields: required/optional reading, ConfigError naming the missing or
// mistyped field, "unknown field" warnings through set_warning_sink, and
// read_json_file errors naming the path.
#include <gtest/gtest.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/json_fields.h"
#include "temp_dir.h"
#include "support/config_checks.h"

namespace blt::test {
namespace {

using io::JsonFields;
using nlohmann::json;


TEST(JsonFields, ReadsRequiredAndOptional) {
  const json j = json::parse(R"({"dim": 64, "eps": 1e-5, "name": "blt", "causal": true, "ratio": 2})");
  JsonFields f(j, "config.json");
  int dim = 0;
  double eps = 0, ratio = 0;
  std::string name;
  bool causal = false;
  f.required("dim", dim);
  f.required("eps", eps);
  f.required("name", name);
  f.optional("causal", causal);
  f.optional("ratio", ratio);  // an integer is accepted for a float field
  EXPECT_EQ(dim, 64);
  EXPECT_DOUBLE_EQ(eps, 1e-5);
  EXPECT_EQ(name, "blt");
  EXPECT_TRUE(causal);
  EXPECT_DOUBLE_EQ(ratio, 2.0);
  EXPECT_EQ(f.where(), "config.json");
}

TEST(JsonFields, MissingRequiredFieldNamesIt) {
  const json j = json::parse(R"({"dim": 64, "n_heads": null})");
  JsonFields f(j, "model/params.json: entropy_model");
  int n_layers = 0, n_heads = 0;
  expect_config_error([&] { f.required("n_layers", n_layers); },
                      {"model/params.json: entropy_model", "'n_layers'"});
  // null counts as missing
  expect_config_error([&] { f.required("n_heads", n_heads); }, {"'n_heads'", "missing"});
}

TEST(JsonFields, WrongTypeNamesField) {
  const json j = json::parse(R"({"dim": "64", "eps": "small", "causal": 1, "name": 3, "window": 1.5})");
  JsonFields f(j, "config.json");
  int dim = 0, window = 0;
  double eps = 0;
  bool causal = false;
  std::string name;
  expect_config_error([&] { f.required("dim", dim); }, {"config.json", "'dim'", "integer", "\"64\""});
  expect_config_error([&] { f.required("eps", eps); }, {"'eps'", "number"});
  expect_config_error([&] { f.required("causal", causal); }, {"'causal'", "boolean"});
  expect_config_error([&] { f.required("name", name); }, {"'name'", "string"});
  expect_config_error([&] { f.optional("window", window); }, {"'window'", "integer"});
}

TEST(JsonFields, OptionalKeepsDefaultWhenAbsentOrNull) {
  const json j = json::parse(R"({"window": null})");
  JsonFields f(j, "config.json");
  int window = 512, heads = 8;
  f.optional("window", window);
  f.optional("heads", heads);
  EXPECT_EQ(window, 512);
  EXPECT_EQ(heads, 8);
}

TEST(JsonFields, StdOptionalIsNulloptWhenAbsentOrNull) {
  const json j = json::parse(R"({"a": null, "c": 7, "d": "x"})");
  JsonFields f(j, "config.json");
  std::optional<int> a = 1, b = 2, c;
  std::optional<int> d;
  f.optional("a", a);
  f.optional("b", b);
  f.optional("c", c);
  EXPECT_EQ(a, std::nullopt);
  EXPECT_EQ(b, std::nullopt);
  EXPECT_EQ(c, 7);
  expect_config_error([&] { f.optional("d", d); }, {"'d'", "integer"});
}

TEST(JsonFields, GenericTypesAndNestedObject) {
  const json j = json::parse(R"({"ns": [3, 4, 5], "bad": [1, "x"], "sub": {"k": 1}, "notobj": 3})");
  JsonFields f(j, "config.json");
  std::vector<int> ns, bad;
  f.required("ns", ns);
  EXPECT_EQ(ns, (std::vector<int>{3, 4, 5}));
  expect_config_error([&] { f.required("bad", bad); }, {"'bad'"});
  EXPECT_EQ(f.object("sub").at("k"), 1);
  expect_config_error([&] { f.object("notobj"); }, {"'notobj'", "object"});
  expect_config_error([&] { f.object("absent"); }, {"'absent'", "missing"});
  EXPECT_TRUE(f.has("sub"));
  EXPECT_FALSE(f.has("absent"));
}

TEST(JsonFields, NotAnObjectIsConfigError) {
  const json j = json::parse("[1, 2]");
  expect_config_error([&] { JsonFields f(j, "config.json"); }, {"config.json", "object"});
}

TEST(JsonFields, UnknownFieldWarnsNamingIt) {
  WarningCapture warnings;
  const json j = json::parse(R"({"dim": 64, "typo_field": 1, "legacy": 2, "unused_optional": 3})");
  JsonFields f(j, "config.json");
  int dim = 0;
  f.required("dim", dim);
  f.ignore({"legacy"});
  int absent = 0;
  f.optional("absent", absent);
  f.finish();
  ASSERT_EQ(warnings.messages.size(), 2u);
  EXPECT_NE(warnings.messages[0].find("'typo_field'"), std::string::npos) << warnings.messages[0];
  EXPECT_NE(warnings.messages[0].find("config.json"), std::string::npos) << warnings.messages[0];
  EXPECT_NE(warnings.messages[1].find("'unused_optional'"), std::string::npos) << warnings.messages[1];
}

TEST(JsonFields, NoWarningWhenEveryFieldIsRead) {
  WarningCapture warnings;
  const json j = json::parse(R"({"dim": 64, "window": null})");
  JsonFields f(j, "config.json");
  int dim = 0, window = 0;
  f.required("dim", dim);
  f.optional("window", window);
  f.finish();
  EXPECT_TRUE(warnings.messages.empty());
}

TEST(JsonFields, ReadJsonFileErrorsNamePath) {
  TempDir dir;
  const std::string good = dir.file("good.json"), bad = dir.file("bad.json"),
                    missing = dir.file("missing.json");
  write_raw(good, R"({"args": {"dim": 8}})");
  write_raw(bad, R"({"args": )");
  EXPECT_EQ(io::read_json_file(good)["args"]["dim"], 8);
  try {
    io::read_json_file(bad);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  try {
    io::read_json_file(missing);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

TEST(JsonFields, FloatsInIntegerFieldsAndArraysAreErrors) {
  const json j = json::parse(
      R"({"groups": [3.5, 4], "rng": [1, 2, 3.0, 4], "neg": [-1], "step": 1e30, "whole": 3.0, "ok": [3, 4]})");
  JsonFields f(j, "state.json");
  std::vector<int64_t> groups, ok;
  std::vector<uint64_t> rng, neg;
  int64_t step = 0, whole = 0;
  expect_config_error([&] { f.required("groups", groups); }, {"state.json", "'groups'", "entry 0", "integer"});
  expect_config_error([&] { f.required("rng", rng); }, {"'rng'", "entry 2"});
  expect_config_error([&] { f.required("neg", neg); }, {"'neg'", "in range"});
  expect_config_error([&] { f.required("step", step); }, {"'step'", "integer"});
  expect_config_error([&] { f.required("whole", whole); }, {"'whole'", "integer"});
  f.required("ok", ok);
  EXPECT_EQ(ok, (std::vector<int64_t>{3, 4}));
}

TEST(JsonFields, ErrorsShowABoundedRenderingOfDeepValues) {
  const int depth = 10000;
  json deep = json::parse(std::string(depth, '[') + std::string(depth, ']'));
  json j = json::object();
  j["dim"] = std::move(deep);  // a copy would recurse 10k levels (a stack overflow under ASan)
  j["long"] = std::string(100000, 'x');
  JsonFields f(j, "config.json");
  int dim = 0, long_field = 0;
  for (const char* name : {"dim", "long"}) {
    try {
      f.required(name, std::string(name) == "dim" ? dim : long_field);
      FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(std::string("'") + name + "'"), std::string::npos) << m;
      EXPECT_LT(m.size(), 300u) << m.substr(0, 300);
    }
  }
  EXPECT_EQ(io::brief(json::parse(R"({"a": [1, [2, [3]]]})")), R"(object {"a":[1,[...]]})");
}

TEST(JsonFields, ReadJsonFileNumberOverflowNamesPath) {
  TempDir dir;
  const std::string path = dir.file("huge.json");
  write_raw(path, R"({"threshold": 1e400})");
  try {
    io::read_json_file(path);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace blt::test
