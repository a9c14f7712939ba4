// Fuzz target: an entropy cache directory (pipeline::read_entropy_cache) for a
// fixed one-document corpus and a fixed tiny entropy model. Input parts:
// cache.json | entropies.f32, split at fuzz::kSeparator. "@KEY@" in cache.json is
// replaced by the key of that corpus and model with the file's "chunk" (when it is an
// integer), so inputs get past the staleness check to the size checks behind it.
#include <cstdint>

#include "fuzz_support.h"
#include "modeldir/entropy_model.h"
#include "pipeline/entropy_cache.h"
#include "tiny_fuzz_models.h"

namespace {

using namespace blt;

const modeldir::EntropyModel& entropy_model() {
  static const modeldir::EntropyModel m = modeldir::EntropyModel::create(fuzz::tiny_lm(), patching::PatcherArgs{});
  return m;
}

const data::Corpus& corpus() {
  static const data::Corpus c = fuzz::tiny_corpus();
  return c;
}

// cache.json with "@KEY@" replaced by the matching key, when the text says which chunk it is for.
std::string with_key(std::string meta) {
  const size_t at = meta.find("@KEY@");
  const auto j = fuzz::parse_json(meta);
  if (at == std::string::npos || !j || !j->is_object() || !j->contains("chunk") || !(*j)["chunk"].is_number_integer())
    return meta;
  const int64_t chunk = (*j)["chunk"].get<int64_t>();
  return meta.replace(at, 5, pipeline::entropy_cache_key(corpus(), entropy_model(), chunk));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::silence_warnings();
  fuzz::reset_scratch();
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 2);
  fuzz::put_file("cache/cache.json", with_key(std::string(parts[0])));
  if (parts.size() > 1) fuzz::put_file("cache/entropies.f32", parts[1]);
  fuzz::expect_errors(
      [&] { (void)pipeline::read_entropy_cache((fuzz::scratch_dir() / "cache").string(), corpus(), entropy_model()); });
  return 0;
}
