// Patch lengths for rows of BLT input.
#include "patching/row_patcher.h"

#include <algorithm>

#include "patching/patcher.h"

namespace blt::patching {

RowPatcher::RowPatcher(const PatcherArgs& args, const lm::LMTransformer* entropy, int32_t eos_id)
    : args_(args), eos_id_(eos_id) {
  args.validate("patcher args");  // once here: each row's patching then builds no message
  if (args.patching_mode == patching::PatchingMode::Entropy && !entropy)
    throw ConfigError("patching_mode entropy needs an entropy model");
  if (args.patching_mode == patching::PatchingMode::Bpe)
    throw ConfigError("patching_mode bpe needs BPE-delimited input, which BLT training does not produce; "
                      "use entropy, space, static or byte");
  if (entropy) ec_ = std::make_unique<lm::EntropyComputer>(*entropy, lm::EntropyOptions{kEntropyChunk, 8});
}

void RowPatcher::row_entropies(std::span<const int32_t> tokens, int64_t B, int64_t N, std::vector<float>& out) {
  out.resize(B * N);
  const double before = ec_->flops().total_forward();
  if (N <= ec_->chunk()) {
    ec_->compute_rows(tokens, B, N, out);  // each row its own context, rows batched
  } else {
    for (int64_t b = 0; b < B; ++b) {  // longer rows: chunked as calculate_entropies, row by row
      const auto h = ec_->compute(tokens.subspan(b * N, N));
      std::copy(h.begin(), h.end(), out.begin() + b * N);
    }
  }
  entropy_flops_ += ec_->flops().total_forward() - before;
}

void RowPatcher::layout(std::span<const int32_t> tokens, int64_t B, int64_t N, PatchLayout& out,
                        std::span<const float> entropies) {
  if (args_.patching_mode == patching::PatchingMode::Entropy && entropies.empty()) {
    row_entropies(tokens, B, N, h_);
    entropies = h_;
  }
  rows_.resize(B);
  size_t P = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto row = tokens.subspan(b * N, N);
    if (args_.patching_mode == patching::PatchingMode::Static) {
      // [1] + static patches over the other N positions (+ the next byte).
      const int64_t ps = args_.static_patch_size();
      rows_[b] = {1};
      for (int64_t left = N; left > 0; left -= ps) rows_[b].push_back(static_cast<int32_t>(std::min(ps, left)));
    } else {
      patching::patch_lengths(args_, row, entropies.empty() ? std::span<const float>{} : entropies.subspan(b * N, N),
                              true, rows_[b], scratch_);
    }
    P = std::max(P, rows_[b].size());
  }
  flat_.assign(B * P, 0);
  for (int64_t b = 0; b < B; ++b) std::copy(rows_[b].begin(), rows_[b].end(), flat_.begin() + b * P);
  make_patch_layout(tokens, flat_, B, N, static_cast<int64_t>(P), eos_id_, out);
}

}  // namespace blt::patching
