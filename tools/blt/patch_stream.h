// The output of `blt patch` and its streamed path. PatchSink writes the report
// (text or one JSON line) in pieces: the settings, then runs of whole patches as
// they are decided, then the statistics, so the same writer serves a patching
// computed whole (--svg, --target-patch-size, --entropies, bpe) and one streamed
// through the entropy model and the incremental patcher in bounded memory.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "lm/lm_transformer.h"
#include "patching/calibrate.h"
#include "patching/patcher_args.h"
#include "patching/stats.h"
#include "tools/blt/patch_view.h"

namespace blt::cli {

// What the report says before the patches.
struct PatchHeader {
  patching::PatcherArgs args;
  bool include_next_token = false;
  std::string description;  // the sequence, e.g. "[BOS] + 79 bytes of a.txt + [EOS]"
  std::optional<patching::Calibration> cal;
  bool have_tokens = true;  // false: only entropies were given (lengths are printed, no text)
};

class PatchSink {
 public:
  // format "text" or "jsonl"; writes to stdout (the text header at once).
  PatchSink(std::string format, PatchHeader header, PatchViewOptions view);
  ~PatchSink();
  PatchSink(const PatchSink&) = delete;
  PatchSink& operator=(const PatchSink&) = delete;

  // A run of whole patches: tokens (L) (empty without text), lengths (P) summing to L (the last run may
  // hold the next token: L + 1), entropies (L) or empty; entropy_before opens the run's first patch.
  void write(std::span<const int32_t> tokens, std::span<const int32_t> lengths,
             std::span<const float> entropies, float entropy_before);
  // The statistics (and the lengths of a JSON line); flushes stdout.
  void finish();

 private:
  void put(const std::string& s);

  std::string format_;
  PatchHeader header_;
  PatchViewOptions view_;
  patching::PatchStatsAccumulator stats_;
  bool first_ = true;
  std::FILE* lengths_ = nullptr;  // jsonl: the lengths so far (int32), written after the patch texts
};

// Streams `file` ([BOS] + its bytes + [EOS] with `eos`) through `model`'s entropies (null: none, for the
// modes that need none) and the incremental patcher into `sink`, a run of patches per 64 KiB read, with
// progress on stderr. Memory: O(model + entropy batch + the longest patch), not O(file). Not for bpe.
void stream_patches(const std::string& file, bool eos, const lm::LMTransformer* model,
                    const patching::PatcherArgs& args, bool include_next_token, PatchSink& sink);

}  // namespace blt::cli
