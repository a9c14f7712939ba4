// Entropy cache computation, keying, and files.
#include "pipeline/entropy_cache.h"

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

EntropyCache compute_entropy_cache(const data::Corpus& corpus, const modeldir::EntropyModel& model, int64_t chunk, int64_t batch,
                                   const std::function<void(int64_t, int64_t)>& progress) {
  EntropyCache c;
  c.key = entropy_cache_key(corpus, model, chunk);
  c.values.reserve(corpus.bytes.size() + 2 * corpus.size());
  lm::EntropyComputer ec(*model.model, {chunk, batch});
  int64_t done = 0;
  for (size_t d = 0; d < corpus.size(); ++d) {
    const std::vector<int32_t> toks = data::encode(corpus.doc(d), true, true);
    const std::vector<float> h = ec.compute(toks);
    c.values.insert(c.values.end(), h.begin(), h.end());
    done += static_cast<int64_t>(corpus.doc_size(d));
    if (progress) progress(done, static_cast<int64_t>(corpus.bytes.size()));
  }
  return c;
}

void write_entropy_cache(const std::string& dir, const EntropyCache& cache, const data::Corpus& corpus, int64_t chunk) {
  fs::create_directories(dir);
  io::AtomicFile f((fs::path(dir) / "entropies.f32").string());
  f.write(cache.values.data(), cache.values.size() * sizeof(float));
  f.commit();
  const nlohmann::json meta = {{"format", 1},
                               {"key", cache.key},
                               {"documents", corpus.size()},
                               {"values", cache.values.size()},
                               {"chunk", chunk},
                               {"layout", "per document: [BOS] + bytes + [EOS], float32 little-endian"}};
  io::write_file_atomic((fs::path(dir) / "cache.json").string(), meta.dump(2) + "\n");
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
