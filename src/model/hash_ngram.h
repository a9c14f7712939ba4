// Hash n-gram ids of the local encoder's embeddings: for group size g and
// hash function f, position j hashes the window of token ids j-g+1 .. j
// (zero-filled before the start) with the reference's rolling polynomial
// Σ_i window[i]·prime_f^i (oldest element prime^0), wrapping modulo 2^64 as
// int64, then takes the floor modulo of the signed value by the table size.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace blt::model {

// The reference's primes, indexed by hash function number.
inline constexpr uint64_t kHashPrimes[] = {1000000007, 5915587277, 1500450271, 3267000013, 5754853343, 4093082899,
                                           9576890767, 3628273133, 2860486313, 5463458053, 3367900313};

// tokens (B,T) -> out (B,T) ids in [0, max_hash); ConfigError unless 1 <= max_hash <= INT32_MAX.
void hash_ngram_ids(std::span<const int32_t> tokens, int64_t B, int64_t T, int64_t group_size, int64_t func,
                    int64_t max_hash, std::span<int32_t> out);

// All tables of the encoder in the reference's order (functions outer, group sizes inner):
// tokens (B,T) -> out (n_funcs·|sizes|, B·T), table-major.
void hash_ngram_ids_all(std::span<const int32_t> tokens, int64_t B, int64_t T, std::span<const int64_t> group_sizes,
                        int64_t n_funcs, int64_t max_hash, std::span<int32_t> out);

}  // namespace blt::model
