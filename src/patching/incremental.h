// IncrementalPatcher: patching during generation, one token at a time, O(1)
// per push. After n pushes, lengths() equals the offline
// patch_lengths(args, tokens[:n], entropies[:n], include_next_token=true) for
// every mode and option (monotonicity, threshold_add, max_patch_length), so
// the cached generation path patches exactly like the recompute-everything
// definition (generate_nocache re-patches the whole prefix every step).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "patching/patcher_args.h"

namespace blt::patching {

class IncrementalPatcher {
 public:
  explicit IncrementalPatcher(const PatcherArgs& args);  // validates args (ConfigError)

  // Appends token n with its entropy H[n] (the model's uncertainty about token n+1; ignored by
  // non-entropy modes). Throws blt::Error where the offline patcher would (bpe: a delimiter at
  // position 0 followed by another token), leaving the state unchanged.
  void push(int32_t token, float entropy);

  // Whether the next, not yet pushed token starts a new patch: lengths().back() == 1. True before any push.
  // In bpe mode a "no" can later become a "yes": a delimiter in the last position is ignored by the
  // reference until a token follows it, so the push after a delimiter moves one boundary (exactly as the
  // offline patcher of the longer prefix does).
  bool next_starts_patch() const { return lengths_.empty() || lengths_.back() == 1; }

  // The patch lengths of the prefix (P), summing to size() + 1: the last patch holds the next token.
  // Empty before the first push.
  std::span<const int32_t> lengths() const { return lengths_; }
  int64_t n_patches() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t size() const { return n_; }  // tokens pushed
  const PatcherArgs& args() const { return args_; }
  void reset();
  // Appends the lengths of the closed patches (every one but the last, which may still grow) to `out`
  // and forgets them, so a stream of any length keeps O(1) state (`blt patch` on a large file); afterwards
  // lengths() and n_patches() cover the patches not taken. Not in bpe mode, where a push may still move
  // the last boundary (InternalError).
  void take_closed(std::vector<int32_t>& out);
  // Room for the lengths of `n` tokens, so pushes allocate nothing (cached decoding).
  void reserve(int64_t n) { lengths_.reserve(static_cast<size_t>(n)); }

 private:
  bool next_is_start(int32_t token, float entropy) const;  // does position n_+1 start a patch?
  void open_patch();                                       // the next position starts a new patch
  void extend_patch();  // the next position joins the last patch (split at max_patch_length)
  void shrink_patch();  // removes the last position from the last patch

  PatcherArgs args_;
  int32_t max_len_ = 0;  // max_patch_length, 0 for none
  int64_t n_ = 0;
  std::vector<int32_t> lengths_;
  int32_t prev_token_ = 0;  // token n_-1
  float prev_entropy_ = 0;  // H[n_-1]
};

}  // namespace blt::patching
