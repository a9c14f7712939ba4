// WindowPieces: the longest prefix of a window, at one of its patch starts, that
// the global model takes. Candidates are tried from the max_seqlen-th patch start
// down: a prefix ending at patch start j has j patches, or j+1 where the patcher
// also starts a patch at the next byte (entropy and byte modes), so one or two
// tries suffice. The prefix is patched by the patcher itself, so its layout is
// what evaluating it as a window of its own would use.
#include "eval/window_pieces.h"

#include <string>
#include <utility>

#include "core/error.h"

namespace blt::eval {

int64_t WindowPieces::fit(patching::RowPatcher& patcher, std::span<const int32_t> x,
                          patching::PatchLayout& layout) {
  if (layout.P <= max_patches_) return layout.N;
  const std::span<const float> h = patcher.entropies();
  h_.assign(h.begin(), h.end());
  for (int64_t j = max_patches_; j >= 1; --j) {
    const int64_t k = layout.offsets[static_cast<size_t>(j)];
    const std::span<const float> hk =
        h_.empty() ? std::span<const float>{} : std::span<const float>(h_).first(static_cast<size_t>(k));
    patcher.layout(x.first(static_cast<size_t>(k)), 1, k, piece_, hk);
    if (piece_.P <= max_patches_) {
      std::swap(layout, piece_);
      return k;
    }
  }
  throw Error("[eval] the first byte of a window alone needs more patches than max_seqlen " +
              std::to_string(max_patches_));
}

}  // namespace blt::eval
