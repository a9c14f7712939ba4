// Offline patchers: tokens (+ entropies) -> patch lengths, with exactly the
// reference's Patcher.patch semantics (bytelatent/data/patcher.py; pitfalls
// 5-15 of fixtures/oracle/NOTES.md): forced starts at tokens 0 and 1, strict
// float32 comparisons, the monotonicity / threshold_add rules, space and BPE
// delimiters, static and byte modes, max_patch_length splitting and
// include_next_token. Where the reference fails an assertion (e.g. a BPE
// delimiter at position 0, batch padding that cannot work) we throw blt::Error.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "patching/patcher_args.h"

namespace blt::patching {

// Token ids the patchers look at (as in data/tokenizer.h; repeated so blt_patcher does not need blt_data).
inline constexpr int32_t kBpeDelimiterId = 3;  // bpe mode: a patch ends at this token
inline constexpr int32_t kByteOffset = 4;      // byte b is token b + 4; ids below are BOE/BOS/EOS/BPE

// Space mode's delimiter (find_space_patch_start_ids): any token but the bytes [0-9A-Za-z] and the UTF-8
// continuation bytes 0x80-0xBF. Lead bytes >= 0xC0 and the special ids < 4 are delimiters.
bool space_delimiter(int32_t token);

// tokens (L), entropies (L) (ignored by non-entropy modes; may be empty then) -> patch lengths of one row
// (P), all positive, summing to L + include_next_token. entropies[i] is the entropy of the prediction of
// token i+1. With include_next_token the last patch holds the not-yet-seen token L.
// Throws ShapeError for L == 0 or mismatched sizes, ConfigError for invalid args, blt::Error where the
// reference asserts (bpe: delimiter at position 0).
std::vector<int32_t> patch_lengths(const PatcherArgs& args, std::span<const int32_t> tokens,
                                   std::span<const float> entropies, bool include_next_token);

// Buffers the allocation-free patch_lengths reuses between calls.
struct PatchScratch {
  std::vector<int64_t> starts;  // a row's patch start ids
  std::vector<int32_t> split;   // lengths being split by max_patch_length
};
// patch_lengths of one row into `out`, for `args` already validated: out's and scratch's capacity is reused,
// so a warm call on a row no longer than before allocates nothing (the training and evaluation steps).
void patch_lengths(const PatcherArgs& args, std::span<const int32_t> tokens, std::span<const float> entropies,
                   bool include_next_token, std::vector<int32_t>& out, PatchScratch& scratch);

// tokens (B,L), entropies (B,L) or empty, row-major -> B rows of P lengths, right-padded with 0, trailing
// all-zero columns cut, as the reference's Patcher.patch on a batch. Row b equals patch_lengths of row b
// alone padded with zeros, except where the reference's own batch padding changes or breaks it:
//   bpe  + include_next_token: a row with exactly one patch fewer than the longest row gets its last
//        patch split off the next token ([.., L-s, 1]); two or more fewer -> blt::Error;
//   space without include_next_token: rows with different numbers of patch starts -> blt::Error.
std::vector<std::vector<int32_t>> patch_lengths_batch(const PatcherArgs& args,
                                                      std::span<const int32_t> tokens,
                                                      std::span<const float> entropies, int64_t n_rows,
                                                      bool include_next_token);

// lengths (P) -> start position of each non-empty patch (zero-length padding is skipped).
std::vector<int32_t> patch_start_ids(std::span<const int32_t> lengths);

// The reference's split_large_numbers: each length above m becomes m, m, ..., rest (zeros are kept).
std::vector<int32_t> split_long_patches(std::span<const int32_t> lengths, int64_t max_patch_length);
// The same into `out` (cleared; its capacity reused).
void split_long_patches(std::span<const int32_t> lengths, int64_t max_patch_length, std::vector<int32_t>& out);

}  // namespace blt::patching
