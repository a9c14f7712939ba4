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

}  // namespace
}  // namespace blt::test
