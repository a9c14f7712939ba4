// Eval windows whose patches exceed the global model's max_seqlen. The reference
// (bytelatent/eval.py eval_ppl_on_path) cuts its sequences by patch count
// (SequenceIterator: output_seq_len = max_seqlen patches, cut at patch
// boundaries), so it never meets this; our windows are cut in bytes, so a window
// with more patches is evaluated in consecutive pieces: each piece ends at a patch
// start of the window's patching, the latest whose prefix, patched on its own,
// has at most max_seqlen patches; the rest restarts context like a later window.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "patching/row_patcher.h"

namespace blt::eval {

class WindowPieces {
 public:
  explicit WindowPieces(int64_t max_patches) : max_patches_(max_patches) {}

  // x (N), `layout` = patcher.layout(x) just computed -> k: x[0:k] is the next piece, and `layout` becomes
  // its layout (unchanged, k = N, when the window fits). Error when not even the first byte fits.
  int64_t fit(patching::RowPatcher& patcher, std::span<const int32_t> x, patching::PatchLayout& layout);

 private:
  int64_t max_patches_;
  std::vector<float> h_;  // the window's entropies, reused for its prefixes (causal, chunked from x[0])
  patching::PatchLayout piece_;
};

}  // namespace blt::eval
