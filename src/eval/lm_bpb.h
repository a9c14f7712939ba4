// Bits per byte of an LMTransformer (the entropy model, the byte-level
// baseline): each document evaluated alone, x = [BOS]+bytes, y = bytes+[EOS],
// BPB = Σ NLL(y) / ln 2 / Σ |y| (DESIGN.md §4). A token LM (the BPE baseline)
// counts bytes, not tokens: Σ NLL over its tokens / ln 2 / bytes covered, where
// the EOS counts as one byte, as it is one target of the byte-level models.
#pragma once

#include <vector>

#include "data/packing.h"
#include "eval/share.h"
#include "lm/lm_transformer.h"

namespace blt::eval {

struct NllSum {
  double nll = 0;                  // Σ NLL(y) in nats (of this share's windows, added in window order)
  int64_t targets = 0;             // Σ |y|
  std::vector<double> window_nll;  // NLL per window of this share, in order
};
// Σ NLL over evaluation windows, over at most max_targets targets (0: all; the budget is the whole
// evaluation's); with a share of several ranks, over this rank's windows only.
NllSum lm_nll(const lm::LMTransformer& model, data::EvalWindows& windows, int64_t max_targets,
              EvalShare share = {});

// Bits per byte of a token LM on token documents: Σ NLL over every window's y (ids + [EOS]) / ln 2 /
// Σ (bytes covered + 1); the second form from the NLL of those windows (lm_nll over all of them).
double token_lm_bpb(const lm::LMTransformer& model, const data::TokenCorpus& docs);
double token_lm_bpb(const NllSum& windows, const data::TokenCorpus& docs);

// Σ NLL / ln 2 / Σ targets (NaN without targets).
double bits_per_target(const NllSum& s);

// Bits per byte of an LM on evaluation windows: Σ NLL(y) / ln 2 / Σ |y|, over at most max_targets targets
// (0: all). Documents are taken in order; the last one counted is cut at the budget.
double lm_bpb(const lm::LMTransformer& model, data::EvalWindows& windows, int64_t max_targets);

}  // namespace blt::eval
