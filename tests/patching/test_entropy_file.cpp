// read_entropy_file: JSON arrays, .f32 little-endian float32 and .jsonl lines
// read back exactly; missing, empty and malformed files (size not a multiple
// of 4, not an array of numbers, NaN/Inf, out-of-order positions) throw
// errors naming the path and the offending value.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/temp_dir.h"
#include "patching/entropy_file.h"

namespace blt::test {
namespace {

std::string f32_bytes(const std::vector<float>& v) {
  std::string s;
  for (float x : v) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    for (int k = 0; k < 4; ++k) s.push_back(static_cast<char>((u >> (8 * k)) & 0xFF));  // little-endian
  }
  return s;
}

// Runs f, expecting an exception of type E whose message contains every needle.
template <class E, class F>
void expect_error(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const std::string& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

TEST(EntropyFile, JsonArray) {
  TempDir d;
  write_raw(d.file("e.json"), "[3.3949158192, 2, 0, 1.335442066192627]\n");
  const auto h = patching::read_entropy_file(d.file("e.json"));
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0], 3.3949158192f);
  EXPECT_EQ(h[1], 2.0f);
  EXPECT_EQ(h[2], 0.0f);
  EXPECT_EQ(h[3], 1.335442066192627f);
}

TEST(EntropyFile, F32RoundTripsBitExactly) {
  TempDir d;
  const std::vector<float> want = {3.3949158192f, 0.0f, 1e-30f, 5.545f, std::numeric_limits<float>::max()};
  write_raw(d.file("e.f32"), f32_bytes(want));
  EXPECT_EQ(patching::read_entropy_file(d.file("e.f32")), want);
}

TEST(EntropyFile, JsonlAsWrittenByBltEntropy) {
  TempDir d;
  write_raw(d.file("e.jsonl"),
            "{\"pos\":0,\"entropy\":3.5}\n{\"pos\":1,\"entropy\":0.25}\n\n{\"entropy\":1}\n");
  EXPECT_EQ(patching::read_entropy_file(d.file("e.jsonl")), (std::vector<float>{3.5f, 0.25f, 1.0f}));
  write_raw(d.file("bad.jsonl"), "{\"pos\":0,\"entropy\":3.5}\n{\"pos\":5,\"entropy\":0.25}\n");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("bad.jsonl")); },
                            {d.file("bad.jsonl") + ":2", "'pos'", "expected 1"});
}

TEST(EntropyFile, MissingFile) {
  TempDir d;
  expect_error<IoError>([&] { patching::read_entropy_file(d.file("nope.json")); },
                        {d.file("nope.json"), "not found"});
}

TEST(EntropyFile, EmptyFile) {
  TempDir d;
  for (const char* name : {"e.json", "e.f32"}) {
    write_raw(d.file(name), "");
    expect_error<FormatError>([&] { patching::read_entropy_file(d.file(name)); }, {d.file(name), "empty"});
  }
  write_raw(d.file("a.json"), "[]");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("a.json")); },
                            {d.file("a.json"), "no entropies"});
}

TEST(EntropyFile, F32SizeNotMultipleOfFour) {
  TempDir d;
  write_raw(d.file("e.f32"), std::string(7, '\0'));
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("e.f32")); },
                            {d.file("e.f32"), "size 7", "multiple of 4"});
}

TEST(EntropyFile, JsonNotAnArrayOfNumbers) {
  TempDir d;
  write_raw(d.file("o.json"), "{\"entropies\": [1, 2]}");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("o.json")); },
                            {d.file("o.json"), "JSON array of numbers", "object"});
  write_raw(d.file("s.json"), "[1.5, 2, \"x\"]");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("s.json")); },
                            {d.file("s.json"), "element 2", "string", "expected a number"});
  write_raw(d.file("n.json"), "[1.5, null]");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("n.json")); }, {"element 1", "null"});
  write_raw(d.file("t.json"), "[1.5, 2");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("t.json")); },
                            {d.file("t.json"), "invalid JSON"});
}

TEST(EntropyFile, NonFiniteValues) {
  TempDir d;
  write_raw(d.file("e.f32"), f32_bytes({1.0f, 2.0f, std::nanf("")}));
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("e.f32")); },
                            {d.file("e.f32"), "value 2", "nan", "finite"});
  write_raw(d.file("i.f32"), f32_bytes({std::numeric_limits<float>::infinity()}));
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("i.f32")); }, {"value 0", "inf"});
  // Python's json.dump writes NaN, which is not JSON: the message says so.
  write_raw(d.file("e.json"), "[1.0, NaN]");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("e.json")); },
                            {d.file("e.json"), "NaN", "finite"});
  // A number beyond float32 range would silently become inf.
  write_raw(d.file("big.json"), "[1.0, 1e39]");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("big.json")); },
                            {"element 1", "1e+39", "float32"});
}

// Found by fuzz_entropy_file: a number beyond double range escaped as nlohmann's out_of_range, and
// messages rendered the offending line whole with the recursive dump() (a stack overflow when deep).
TEST(EntropyFile, HugeNumbersAndDeepValuesAreFormatErrors) {
  TempDir d;
  write_raw(d.file("h.json"), "[1.0, 1e400]");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("h.json")); }, {d.file("h.json"), "1e400"});
  write_raw(d.file("h.jsonl"), "{\"pos\": 0, \"entropy\": 0.5}\n{\"pos\": 1, \"entropy\": 1e400}\n");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("h.jsonl")); },
                            {d.file("h.jsonl") + ":2", "1e400"});
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  write_raw(d.file("d.jsonl"), deep + "\n");
  try {
    patching::read_entropy_file(d.file("d.jsonl"));
    ADD_FAILURE() << "no exception";
  } catch (const FormatError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(d.file("d.jsonl") + ":1: expected an object"), std::string::npos) << msg.substr(0, 300);
    EXPECT_LT(msg.size(), 400u) << msg.substr(0, 300);
  }
  write_raw(d.file("p.jsonl"), "{\"pos\": " + deep + ", \"entropy\": 1}\n");
  expect_error<FormatError>([&] { patching::read_entropy_file(d.file("p.jsonl")); }, {"field 'pos'"});
}

}  // namespace
}  // namespace blt::test
