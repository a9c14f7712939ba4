// Entropy cache computation, keying, and files.
#include "pipeline/entropy_cache.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/hash.h"
#include "data/tokenizer.h"
#include "lm/entropies.h"
#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"

namespace blt::pipeline {

namespace fs = std::filesystem;

std::string entropy_cache_key(const data::Corpus& corpus, const modeldir::EntropyModel& model, int64_t chunk) {
  uint64_t h = fnv1a(corpus.bytes);
  h = fnv1a(corpus.offsets.data(), corpus.offsets.size() * sizeof(int64_t), h);
  h = fnv1a(to_json(model.args).dump(), h);
  const TensorView w = model.params->values();
  h = fnv1a(w.raw(), w.nbytes(), h);
  h = fnv1a(&chunk, sizeof chunk, h);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void compute_entropies(const data::Corpus& corpus, const modeldir::EntropyModel& model, int64_t chunk,
                       int64_t batch, const EntropySink& sink,
                       const std::function<void(int64_t, int64_t)>& progress) {
  lm::EntropyComputer ec(*model.model, {chunk, batch});
  // Each document's tokens [BOS] + bytes + [EOS] are pushed a whole batch (batch x chunk) at a time, so the
  // computer runs the passes one compute() of the whole document runs: the same rows, the same values.
  const size_t piece = static_cast<size_t>(ec.chunk() * ec.batch());
  const int64_t total = static_cast<int64_t>(corpus.bytes.size());
  std::vector<int32_t> toks;
  toks.reserve(piece);
  int64_t done = 0;  // bytes of the corpus whose tokens were pushed
  auto add = [&](int32_t tok, int64_t bytes) {
    toks.push_back(tok);
    done += bytes;
    if (toks.size() < piece) return;
    ec.push(toks, sink);
    toks.clear();
    if (progress) progress(done, total);
  };
  for (size_t d = 0; d < corpus.size(); ++d) {
    add(data::kBosId, 0);
    for (const char b : corpus.doc(d)) add(data::byte_to_id(static_cast<unsigned char>(b)), 1);
    toks.push_back(data::kEosId);
    ec.push(toks, sink);
    toks.clear();
    ec.finish(sink);
    if (progress) progress(done, total);
  }
}

EntropyCache compute_entropy_cache(const data::Corpus& corpus, const modeldir::EntropyModel& model,
                                   int64_t chunk, int64_t batch,
                                   const std::function<void(int64_t, int64_t)>& progress) {
  EntropyCache c;
  c.key = entropy_cache_key(corpus, model, chunk);
  c.values.reserve(corpus.bytes.size() + 2 * corpus.size());
  compute_entropies(
      corpus, model, chunk, batch,
      [&](std::span<const float> h) { c.values.insert(c.values.end(), h.begin(), h.end()); }, progress);
  return c;
}

int64_t cache_chunk(const modeldir::EntropyModel& model, int64_t requested) {
  return std::min(requested, model.args.max_seqlen);
}

EntropyCache training_entropies(const data::Corpus& corpus, const modeldir::EntropyModel& model,
                                const std::string& cache_dir, const std::function<void(int64_t, int64_t)>& progress) {
  if (!cache_dir.empty()) return read_entropy_cache(cache_dir, corpus, model);
  return compute_entropy_cache(corpus, model, cache_chunk(model), kCacheBatch, progress);
}

namespace {
// Writes dir/entropies.f32 with the values `fill` hands to its sink, then cache.json, each first into a
// temporary file; both are renamed into place only once complete. The old cache.json goes first, so an
// interruption between the renames leaves no cache.json beside entropies it does not describe.
void write_cache_files(const std::string& dir, const std::string& key, const data::Corpus& corpus,
                       int64_t chunk, const std::function<void(const EntropySink&)>& fill) {
  fs::create_directories(dir);
  const fs::path meta_path = fs::path(dir) / "cache.json";
  io::AtomicFile data((fs::path(dir) / "entropies.f32").string());
  int64_t values = 0;
  fill([&](std::span<const float> h) {
    data.write(h.data(), h.size() * sizeof(float));  // little-endian on every supported host
    values += static_cast<int64_t>(h.size());
  });
  const nlohmann::json meta = {{"format", 1},
                               {"key", key},
                               {"documents", corpus.size()},
                               {"values", values},
                               {"chunk", chunk},
                               {"layout", "per document: [BOS] + bytes + [EOS], float32 little-endian"}};
  io::AtomicFile meta_file(meta_path.string());
  meta_file.write(meta.dump(2) + "\n");
  std::error_code ec;
  fs::remove(meta_path, ec);
  if (ec) throw IoError(meta_path.string() + ": cannot remove the old cache: " + ec.message());
  data.commit();
  meta_file.commit();
}
}  // namespace

void write_entropy_cache(const std::string& dir, const EntropyCache& cache, const data::Corpus& corpus,
                         int64_t chunk) {
  write_cache_files(dir, cache.key, corpus, chunk, [&](const EntropySink& sink) { sink(cache.values); });
}

std::string preprocess_entropy_cache(const std::string& dir, const data::Corpus& corpus,
                                     const modeldir::EntropyModel& model, int64_t chunk, int64_t batch,
                                     const std::function<void(int64_t, int64_t)>& progress) {
  const std::string key = entropy_cache_key(corpus, model, chunk);
  write_cache_files(dir, key, corpus, chunk, [&](const EntropySink& sink) {
    compute_entropies(corpus, model, chunk, batch, sink, progress);
  });
  return key;
}

EntropyCache read_entropy_cache(const std::string& dir, const data::Corpus& corpus, const modeldir::EntropyModel& model) {
  const std::string meta_path = (fs::path(dir) / "cache.json").string();
  const nlohmann::json meta = io::read_json_file(meta_path);
  io::JsonFields f(meta, meta_path);
  int64_t format = 0, chunk = 0, values = 0, documents = 0;
  std::string key, layout;
  f.required("format", format);
  f.required("key", key);
  f.required("chunk", chunk);
  f.required("values", values);
  f.required("documents", documents);
  f.optional("layout", layout);
  f.finish();
  if (format != 1) throw FormatError(meta_path + ": unsupported cache format " + std::to_string(format));
  const std::string want = entropy_cache_key(corpus, model, chunk);
  if (key != want)
    throw FormatError(dir + ": stale entropy cache: it was made for other data or another entropy model (key " + key +
                      ", expected " + want + "); run `blt preprocess` again");
  // The file's size is compared with the count by division (values * 4 could wrap) before anything
  // is allocated: a hostile "values" must neither pass the check nor size a vector.
  if (values < 0) throw FormatError(meta_path + ": 'values' " + std::to_string(values) + " is negative");
  const std::string data_path = (fs::path(dir) / "entropies.f32").string();
  const io::MappedFile data(data_path);
  if (data.size() % sizeof(float) != 0 || data.size() / sizeof(float) != static_cast<uint64_t>(values))
    throw FormatError(data_path + ": " + std::to_string(data.size()) + " bytes, expected " + std::to_string(values) +
                      " float32 values (" + meta_path + ")");
  EntropyCache c{key, std::vector<float>(static_cast<size_t>(values))};
  if (data.size()) std::memcpy(c.values.data(), data.data(), data.size());
  return c;
}

}  // namespace blt::pipeline
