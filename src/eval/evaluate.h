// BLT evaluation (DESIGN.md §4): for each document, x = [BOS] + bytes and
// y = bytes + [EOS]; entropies from the entropy model on x; patch lengths
// from the patcher on x with include_next_token; BPB = Σ NLL(y) / ln 2 / |y|.
// Documents longer than one window are cut into consecutive windows of
// max_encoder_seq_length tokens, each with fresh context. Also reports the
// mean patch size and the FLOPs executed per byte, by component.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "data/packing.h"
#include "modeldir/blt_model.h"
#include "patching/row_patcher.h"

namespace blt::eval {

struct EvalResult {
  double bpb = 0;
  int64_t n_positions = 0;                   // predicted bytes (targets)
  int64_t n_patches = 0;
  double mean_patch_size = 0;                // Σ lengths / patches, with the next-byte patch
  std::map<std::string, double> flops_per_byte;  // executed forward FLOPs per target, by component
  double flops_total_per_byte() const;
};

// Evaluates over `windows` (at most max_targets targets; 0: all). `progress(done, total)` is called per window.
// `tracer`, if given, records the named activations of the first window's forward (core/trace.h).
EvalResult evaluate(const modeldir::BltModel& m, patching::RowPatcher& patcher, data::EvalWindows& windows, int64_t max_targets,
                    const std::function<void(int64_t, int64_t)>& progress = {}, Tracer* tracer = nullptr);

}  // namespace blt::eval
