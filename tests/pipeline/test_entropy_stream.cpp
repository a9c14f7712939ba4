// `blt preprocess` streams the cache (pipeline::preprocess_entropy_cache): the
// entropies.f32 it writes as the values are computed equals, byte for byte,
// each document's entropies computed whole in memory (what the cache held
// before streaming, and what compute_entropy_cache still gives training), for
// documents shorter than a chunk, exactly a batch, and many chunks long;
// progress comes within a long document; and a run that fails midway leaves
// the previous cache as it was, with no temporary file behind.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "io/file.h"
#include "io/temp_dir.h"
#include "lm/entropies.h"
#include "pipeline/entropy_cache.h"
#include "support/tiny_models.h"

namespace blt::test {
namespace {

constexpr int64_t kChunk = 16, kBatch = 2;  // a forward pass: 2 chunks of 16 tokens

data::Corpus corpus() {
  data::Corpus c;
  c.add("Amen.");
  c.add(std::string(30, 'a'));  // 32 tokens: exactly one batch
  std::string long_doc;
  while (long_doc.size() < 7 * kChunk * kBatch + 5) long_doc += "And God said, Let there be light. ";
  c.add(long_doc);  // many batches, then one chunk short of a batch and a partial chunk
  c.add("Selah");
  return c;
}

modeldir::EntropyModel entropy_model() {
  modeldir::EntropyModel m = modeldir::EntropyModel::create(tiny_lm_args(kChunk, 8), {}, DType::F32);
  Rng rng(5);
  m.params->initialize(rng);
  return m;
}

// Each document's [BOS] + bytes + [EOS] through one compute(), as the whole-document cache was made.
std::vector<float> whole_documents(const data::Corpus& c, const modeldir::EntropyModel& m) {
  lm::EntropyComputer ec(*m.model, {kChunk, kBatch});
  std::vector<float> all;
  for (size_t d = 0; d < c.size(); ++d) {
    const std::vector<float> h = ec.compute(data::encode(c.doc(d), true, true));
    all.insert(all.end(), h.begin(), h.end());
  }
  return all;
}

std::string bytes_of(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

TEST(EntropyStream, TheStreamedFileEqualsTheWholeDocumentValues) {
  const data::Corpus c = corpus();
  const modeldir::EntropyModel m = entropy_model();
  const std::vector<float> want = whole_documents(c, m);
  ASSERT_EQ(want.size(), c.bytes.size() + 2 * c.size());

  const pipeline::EntropyCache in_memory = pipeline::compute_entropy_cache(c, m, kChunk, kBatch);
  EXPECT_TRUE(bytes_of(in_memory.values) == bytes_of(want));

  TempDir dir;
  std::vector<int64_t> done;
  const std::string key = pipeline::preprocess_entropy_cache(dir.path().string(), c, m, kChunk, kBatch,
                                                             [&](int64_t d, int64_t) { done.push_back(d); });
  EXPECT_EQ(key, in_memory.key);
  EXPECT_TRUE(io::read_file(dir.file("entropies.f32")) == bytes_of(want));
  EXPECT_TRUE(bytes_of(pipeline::read_entropy_cache(dir.path().string(), c, m).values) == bytes_of(want));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"cache.json", "entropies.f32"}));

  // Progress within the long document (third), not only as documents complete.
  const int64_t before_long = c.offsets[2], after_long = c.offsets[3];
  int64_t inside = 0;
  for (int64_t d : done) inside += d > before_long && d < after_long;
  EXPECT_GE(inside, 5);
  EXPECT_EQ(done.back(), static_cast<int64_t>(c.bytes.size()));
}

TEST(EntropyStream, AFailedRunLeavesThePreviousCache) {
  const data::Corpus c = corpus();
  const modeldir::EntropyModel m = entropy_model();
  TempDir dir;
  pipeline::preprocess_entropy_cache(dir.path().string(), c, m, kChunk, kBatch);
  const std::string old_data = io::read_file(dir.file("entropies.f32")),
                    old_meta = io::read_file(dir.file("cache.json"));
  data::Corpus other = corpus();
  other.add("more");
  int calls = 0;
  EXPECT_THROW(pipeline::preprocess_entropy_cache(dir.path().string(), other, m, kChunk, kBatch,
                                                  [&](int64_t, int64_t) {
                                                    if (++calls == 3) throw std::runtime_error("interrupted");
                                                  }),
               std::runtime_error);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"cache.json", "entropies.f32"}));
  EXPECT_TRUE(io::read_file(dir.file("entropies.f32")) == old_data);
  EXPECT_EQ(io::read_file(dir.file("cache.json")), old_meta);
}

}  // namespace
}  // namespace blt::test
