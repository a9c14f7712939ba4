// Rolling polynomial hash ids (bytelatent/model/blt.py semantics).
#include "model/hash_ngram.h"

#include <limits>
#include <string>

#include "core/error.h"

namespace blt::model {

namespace {

// Ids are stored as int32 (floor modulo max_hash lies in [0, max_hash)), so the table size must fit.
void check_max_hash(int64_t max_hash) {
  if (max_hash < 1 || max_hash > std::numeric_limits<int32_t>::max())
    throw ConfigError("hash vocabulary size " + std::to_string(max_hash) + " must be in [1, " +
                      std::to_string(std::numeric_limits<int32_t>::max()) + "]: ids are int32");
}

}  // namespace

void hash_ngram_ids(std::span<const int32_t> tokens, int64_t B, int64_t T, int64_t group_size, int64_t func,
                    int64_t max_hash, std::span<int32_t> out) {
  constexpr int64_t n_primes = sizeof(kHashPrimes) / sizeof(kHashPrimes[0]);
  if (func < 0 || func >= n_primes) throw ConfigError("hash function number " + std::to_string(func) + " out of range");
  if (group_size < 1) throw ConfigError("hash group size " + std::to_string(group_size) + " must be positive");
  check_max_hash(max_hash);
  if (static_cast<int64_t>(tokens.size()) != B * T || out.size() != tokens.size())
    throw ShapeError("[hash_ngram] " + std::to_string(tokens.size()) + " tokens, " + std::to_string(out.size()) +
                     " outputs for (" + std::to_string(B) + "," + std::to_string(T) + ")");
  // Unsigned arithmetic wraps modulo 2^64 exactly as torch's int64 does. Horner's rule from the newest
  // element down gives Σ_i window[i]·prime^i with no table of powers.
  const uint64_t prime = kHashPrimes[func];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < T; ++j) {
      uint64_t h = 0;
      for (int64_t i = group_size - 1; i >= 0; --i) {
        const int64_t pos = j - group_size + 1 + i;  // window element i; before the start it is 0
        h = h * prime + (pos >= 0 ? static_cast<uint64_t>(static_cast<int64_t>(tokens[b * T + pos])) : 0);
      }
      const int64_t s = static_cast<int64_t>(h);
      out[b * T + j] = static_cast<int32_t>(((s % max_hash) + max_hash) % max_hash);
    }
}

void hash_ngram_ids_all(std::span<const int32_t> tokens, int64_t B, int64_t T, std::span<const int64_t> group_sizes,
                        int64_t n_funcs, int64_t max_hash, std::span<int32_t> out) {
  check_max_hash(max_hash);
  const int64_t n = B * T, n_tables = n_funcs * static_cast<int64_t>(group_sizes.size());
  if (static_cast<int64_t>(out.size()) != n_tables * n)
    throw ShapeError("[hash_ngram] output of " + std::to_string(out.size()) + " for " + std::to_string(n_tables) +
                     " tables x " + std::to_string(n) + " tokens");
  int64_t t = 0;
  for (int64_t f = 0; f < n_funcs; ++f)
    for (int64_t g : group_sizes) {
      hash_ngram_ids(tokens, B, T, g, f, max_hash, out.subspan(t * n, n));
      ++t;
    }
}

}  // namespace blt::model
