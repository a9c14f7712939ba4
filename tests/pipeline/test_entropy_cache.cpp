// Entropy cache files (read_entropy_cache): a cache whose cache.json and
// entropies.f32 disagree, or whose value count is absurd, is a FormatError
// naming the file, checked before anything is allocated; the size check cannot
// be fooled by a count whose byte size wraps 64 bits. Also the int32 range of
// hash n-gram ids (model/hash_ngram), which has no other pipeline-level test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/hash_ngram.h"
#include "pipeline/entropy_cache.h"
#include "io/temp_dir.h"
#include "support/config_checks.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

namespace fs = std::filesystem;

data::Corpus corpus() {
  data::Corpus c;
  c.add("In the beginning");
  c.add("was the word.");
  return c;
}

// A valid cache for corpus() and a zero-weight tiny model, written under dir; returns the model.
modeldir::EntropyModel write_valid_cache(const fs::path& dir, const data::Corpus& c) {
  modeldir::EntropyModel m = modeldir::EntropyModel::create(tiny_lm_args(), {});
  pipeline::EntropyCache cache;
  cache.key = pipeline::entropy_cache_key(c, m, 16);
  for (size_t d = 0; d < c.size(); ++d)
    for (int64_t i = 0; i < c.doc_size(d) + 2; ++i) cache.values.push_back(0.25f * static_cast<float>(i));
  pipeline::write_entropy_cache(dir.string(), cache, c, 16);
  return m;
}

void set_values(const fs::path& dir, int64_t values) {
  const fs::path meta = dir / "cache.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(meta));
  j["values"] = values;
  std::ofstream(meta, std::ios::trunc) << j.dump(2);
}

void write_data(const fs::path& dir, size_t bytes) {
  std::ofstream(dir / "entropies.f32", std::ios::binary | std::ios::trunc) << std::string(bytes, '\0');
}

TEST(EntropyCache, RoundTrips) {
  TempDir dir;
  const data::Corpus c = corpus();
  const modeldir::EntropyModel m = write_valid_cache(dir.path(), c);
  const pipeline::EntropyCache got = pipeline::read_entropy_cache(dir.path().string(), c, m);
  ASSERT_EQ(got.values.size(), c.bytes.size() + 2 * c.size());
  EXPECT_EQ(got.values[1], 0.25f);
}

TEST(EntropyCache, WrappingValueCountIsRejectedBeforeAllocating) {
  TempDir dir;
  const data::Corpus c = corpus();
  const modeldir::EntropyModel m = write_valid_cache(dir.path(), c);
  // (2^62 + 1) * 4 wraps to 4: a 4-byte file used to pass the check, then a 2^62-float resize followed.
  set_values(dir.path(), (int64_t{1} << 62) + 1);
  write_data(dir.path(), 4);
  expect_error<FormatError>([&] { pipeline::read_entropy_cache(dir.path().string(), c, m); },
                      {"entropies.f32", "4 bytes"});
  // 2^62 * 4 wraps to 0: an empty file.
  set_values(dir.path(), int64_t{1} << 62);
  write_data(dir.path(), 0);
  expect_error<FormatError>([&] { pipeline::read_entropy_cache(dir.path().string(), c, m); },
                      {"entropies.f32", "0 bytes"});
  // Beyond what any byte count can express, and negative.
  set_values(dir.path(), std::numeric_limits<int64_t>::max());
  expect_error<FormatError>([&] { pipeline::read_entropy_cache(dir.path().string(), c, m); },
                      {"entropies.f32", "0 bytes", std::to_string(std::numeric_limits<int64_t>::max())});
  set_values(dir.path(), -1);
  expect_error<FormatError>([&] { pipeline::read_entropy_cache(dir.path().string(), c, m); },
                      {"cache.json", "'values'"});
}

TEST(EntropyCache, SizeMismatchNamesTheFile) {
  TempDir dir;
  const data::Corpus c = corpus();
  const modeldir::EntropyModel m = write_valid_cache(dir.path(), c);
  const size_t n = c.bytes.size() + 2 * c.size();
  write_data(dir.path(), 4 * n - 1);
  expect_error<FormatError>([&] { pipeline::read_entropy_cache(dir.path().string(), c, m); },
                      {(dir.path() / "entropies.f32").string(), std::to_string(4 * n - 1) + " bytes",
                       "expected " + std::to_string(n) + " float32 values"});
}

TEST(HashNgramIds, TableSizeMustFitInt32) {
  const std::vector<int32_t> tokens = {5, 7, 9};
  std::vector<int32_t> out(3);
  const int64_t int32_max = std::numeric_limits<int32_t>::max();
  // Ids are int32: a larger table would truncate ids (possibly negative) with no error.
  EXPECT_THROW(model::hash_ngram_ids(tokens, 1, 3, 2, 0, int32_max + 1, out), ConfigError);
  EXPECT_THROW(model::hash_ngram_ids(tokens, 1, 3, 2, 0, int64_t{1} << 40, out), ConfigError);
  const std::vector<int64_t> sizes = {2, 3};
  std::vector<int32_t> all(2 * 3);
  EXPECT_THROW(model::hash_ngram_ids_all(tokens, 1, 3, sizes, 1, int32_max + 1, all), ConfigError);
  EXPECT_THROW(model::hash_ngram_ids(tokens, 1, 3, 2, 0, 0, out), ConfigError);
  // The largest table is fine and every id is in range.
  model::hash_ngram_ids(tokens, 1, 3, 2, 0, int32_max, out);
  for (int32_t id : out) EXPECT_GE(id, 0);
}

}  // namespace
}  // namespace blt::test
