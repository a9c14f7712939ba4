// Bits per byte of an LMTransformer (the entropy model, the byte-level
// baseline): each document evaluated alone, x = [BOS]+bytes, y = bytes+[EOS],
// BPB = Σ NLL(y) / ln 2 / Σ |y| (DESIGN.md §4).
#pragma once

#include "data/packing.h"
#include "lm/lm_transformer.h"

namespace blt::eval {

// Bits per byte of an LM on evaluation windows: Σ NLL(y) / ln 2 / Σ |y|, over at most max_targets targets
// (0: all). Documents are taken in order; the last one counted is cut at the budget.
double lm_bpb(const lm::LMTransformer& model, data::EvalWindows& windows, int64_t max_targets);

}  // namespace blt::eval
