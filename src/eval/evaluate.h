// BLT evaluation (DESIGN.md §4): for each document, x = [BOS] + bytes and
// y = bytes + [EOS]; entropies from the entropy model on x; patch lengths
// from the patcher on x with include_next_token; BPB = Σ NLL(y) / ln 2 / |y|.
// Documents longer than one window are cut into consecutive windows of
// max_encoder_seq_length tokens, each with fresh context; a window with more
// patches than max_seqlen is run in consecutive pieces (eval/window_pieces.h).
// Also reports the mean patch size and the FLOPs executed per byte, by component.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/packing.h"
#include "eval/share.h"
#include "modeldir/blt_model.h"
#include "patching/row_patcher.h"

namespace blt::eval {

struct EvalResult {
  double bpb = 0;
  int64_t n_positions = 0;  // predicted bytes (targets)
  int64_t n_patches = 0;
  double mean_patch_size = 0;                    // Σ lengths / patches, with the next-byte patch
  std::map<std::string, double> flops_per_byte;  // executed forward FLOPs per target, by component
  double flops_total_per_byte() const;

  // The sums the figures above come from (finish() derives them): Σ NLL in nats (added in window order),
  // NLL per window (this evaluation's windows), Σ patch lengths, executed forward FLOPs by component.
  double nll = 0;
  std::vector<double> window_nll;
  int64_t length_sum = 0;
  std::map<std::string, double> flops;
  // bpb, mean_patch_size and flops_per_byte from the sums; Error when no byte was evaluated.
  void finish();
};

// Evaluates over `windows` (at most max_targets targets; 0: all). `progress(done, total)` is called per
// window. `tracer`, if given, records the named activations of the first window's forward (core/trace.h).
// With a share of several ranks, only this rank's windows are run and the result holds their sums, unfinished
// (n_positions counts its windows' targets; see merge_shares).
EvalResult evaluate(const modeldir::BltModel& m, patching::RowPatcher& patcher, data::EvalWindows& windows,
                    int64_t max_targets, const std::function<void(int64_t, int64_t)>& progress = {},
                    Tracer* tracer = nullptr, EvalShare share = {});

// The evaluation of the whole set from every rank's share (by rank), finished: the window sums are added
// in window order, as one process adds them, so the figures are bit for bit that process's.
EvalResult merge_shares(const std::vector<EvalResult>& shares);

}  // namespace blt::eval
