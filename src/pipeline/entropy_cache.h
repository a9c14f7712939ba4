// Cached per-document entropies (`blt preprocess`): for every document of a
// corpus, the entropy model's entropies over its wrapped tokens [BOS] + bytes
// + [EOS] (each document its own context, chunked as calculate_entropies),
// stored as one float32 file plus cache.json. The cache is keyed by a hash of
// the corpus bytes, the entropy model's configuration and weights, and the
// chunk size, so training refuses a cache made for other data or another model.
// Entropy-patched training always patches with these per-document values:
// read from a cache, or computed in memory at the start (training_entropies).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "data/documents.h"
#include "lm/entropies.h"
#include "modeldir/entropy_model.h"

namespace blt::pipeline {

// `blt preprocess`'s defaults, lm::EntropyOptions': tokens per chunk (clamped to the model's max_seqlen)
// and chunks per pass.
inline constexpr int64_t kCacheChunk = lm::EntropyOptions{}.chunk;
inline constexpr int64_t kCacheBatch = lm::EntropyOptions{}.batch;

struct EntropyCache {
  std::string key;            // hex hash of corpus + model + chunk
  std::vector<float> values;  // Σ (bytes + 2) over documents, in corpus order
};

// Hash of everything the cached values depend on.
std::string entropy_cache_key(const data::Corpus& corpus, const modeldir::EntropyModel& model, int64_t chunk);

// Receives consecutive entropies, in corpus order.
using EntropySink = std::function<void(std::span<const float>)>;

// The cache's values (Σ (bytes + 2) over documents, corpus order) handed to `sink` a forward pass at a
// time, in memory of one batch (batch x chunk tokens and entropies) whatever the documents' sizes.
// `progress(done_bytes, total_bytes)` is called as they are computed.
void compute_entropies(const data::Corpus& corpus, const modeldir::EntropyModel& model, int64_t chunk,
                       int64_t batch, const EntropySink& sink,
                       const std::function<void(int64_t, int64_t)>& progress = {});

// The cache in memory: the key and compute_entropies' values.
EntropyCache compute_entropy_cache(const data::Corpus& corpus, const modeldir::EntropyModel& model,
                                   int64_t chunk, int64_t batch,
                                   const std::function<void(int64_t, int64_t)>& progress = {});

// The chunk a cache uses for `requested` tokens per chunk: at most the model's max_seqlen.
int64_t cache_chunk(const modeldir::EntropyModel& model, int64_t requested = kCacheChunk);

// The per-document entropies entropy-patched training reads (the SequenceStream's side values): the cache
// in `cache_dir` (checked against corpus and model), or, when cache_dir is empty, the same values computed
// now as `blt preprocess` computes them by default. Either way the same data gets the same patches.
EntropyCache training_entropies(const data::Corpus& corpus, const modeldir::EntropyModel& model,
                                const std::string& cache_dir,
                                const std::function<void(int64_t, int64_t)>& progress = {});

// dir/entropies.f32 + dir/cache.json, each written atomically.
void write_entropy_cache(const std::string& dir, const EntropyCache& cache, const data::Corpus& corpus, int64_t chunk);
// `blt preprocess`: compute_entropies written to dir's files as they are computed (not held), both files
// renamed into place only once complete; on an error neither is replaced. Returns the cache's key.
std::string preprocess_entropy_cache(const std::string& dir, const data::Corpus& corpus,
                                     const modeldir::EntropyModel& model, int64_t chunk, int64_t batch,
                                     const std::function<void(int64_t, int64_t)>& progress = {});
// Reads a cache and checks it was made for `corpus` and `model` (FormatError naming the mismatch otherwise).
EntropyCache read_entropy_cache(const std::string& dir, const data::Corpus& corpus, const modeldir::EntropyModel& model);

}  // namespace blt::pipeline
