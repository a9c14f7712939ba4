// Cached per-document entropies (`blt preprocess`): for every document of a
// corpus, the entropy model's entropies over its wrapped tokens [BOS] + bytes
// + [EOS] (each document its own context, chunked as calculate_entropies),
// stored as one float32 file plus cache.json. The cache is keyed by a hash of
// the corpus bytes, the entropy model's configuration and weights, and the
// chunk size, so training refuses a cache made for other data or another model.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "data/documents.h"
#include "modeldir/entropy_model.h"

namespace blt::pipeline {

struct EntropyCache {
  std::string key;            // hex hash of corpus + model + chunk
  std::vector<float> values;  // Σ (bytes + 2) over documents, in corpus order
};

// Hash of everything the cached values depend on.
std::string entropy_cache_key(const data::Corpus& corpus, const modeldir::EntropyModel& model, int64_t chunk);

// Computes the cache. `progress(done_bytes, total_bytes)` is called as documents complete.
EntropyCache compute_entropy_cache(const data::Corpus& corpus, const modeldir::EntropyModel& model, int64_t chunk, int64_t batch,
                                   const std::function<void(int64_t, int64_t)>& progress = {});

// dir/entropies.f32 + dir/cache.json, each written atomically.
void write_entropy_cache(const std::string& dir, const EntropyCache& cache, const data::Corpus& corpus, int64_t chunk);
// Reads a cache and checks it was made for `corpus` and `model` (FormatError naming the mismatch otherwise).
EntropyCache read_entropy_cache(const std::string& dir, const data::Corpus& corpus, const modeldir::EntropyModel& model);

}  // namespace blt::pipeline
