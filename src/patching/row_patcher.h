// RowPatcher: patch lengths for BLT input rows from the model's patcher
// settings, with include_next_token (lengths sum to N+1, as the BLT forward
// and the packing iterator use them). Entropy mode runs the entropy model on
// each row (fresh context per row) unless entropies are given. Static mode
// gives [1] + fixed patches: the reference's static patcher starts with a
// full patch, which its own BLT decoder rejects, so the lone first byte is
// kept as the dynamic modes keep it.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "lm/entropies.h"
#include "patching/patch_layout.h"
#include "patching/patcher.h"
#include "patching/patcher_args.h"

namespace blt::patching {

// Entropies are computed in chunks of this many tokens (clamped to the entropy model's max_seqlen), each
// with fresh context, as the reference's calculate_entropies; the default of lm::EntropyOptions, which
// `blt preprocess` and training also use, so every path cuts a document alike.
inline constexpr int64_t kEntropyChunk = lm::EntropyOptions{}.chunk;

class RowPatcher {
 public:
  // `entropy` is required for entropy mode and must outlive the RowPatcher.
  RowPatcher(const PatcherArgs& args, const lm::LMTransformer* entropy, int32_t eos_id);

  // tokens (B,N) [, entropies (B,N)] -> layout with lengths zero-padded to the longest row.
  void layout(std::span<const int32_t> tokens, int64_t B, int64_t N, PatchLayout& out,
              std::span<const float> entropies = {});

  // Entropies of rows of tokens (B,N) under the entropy model, each row with its own context.
  void row_entropies(std::span<const int32_t> tokens, int64_t B, int64_t N, std::vector<float>& out);

  const patching::PatcherArgs& args() const { return args_; }
  // The entropies the last layout() without given entropies computed (B*N; empty outside entropy mode).
  std::span<const float> entropies() const { return h_; }
  // FLOPs the entropy model executed so far.
  double entropy_flops() const { return entropy_flops_; }

 private:
  patching::PatcherArgs args_;
  int32_t eos_id_;
  std::unique_ptr<lm::EntropyComputer> ec_;  // one for the patcher's life: its arena is reused
  double entropy_flops_ = 0;
  std::vector<float> h_;
  std::vector<std::vector<int32_t>> rows_;  // per row, capacity kept: warm steps allocate nothing
  PatchScratch scratch_;
  std::vector<int32_t> flat_;
};

}  // namespace blt::patching
