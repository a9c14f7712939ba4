// Entropy-threshold calibration: the global threshold whose mean patch size
// (positions / patches over sample sequences) is closest to a target, e.g.
// 4.5 or 8 bytes. The mean is a non-decreasing step function of the
// threshold that only changes at the (float32) values compared against it,
// so we bisect over those values and the answer is exact, not approximate.
// Unreachable targets are clamped to the nearest reachable end and flagged.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "patching/patcher_args.h"

namespace blt::patching {

struct Calibration {
  double threshold = 0;      // the calibrated threshold (nats), e.g. 1.34; never negative
  double achieved_mean = 0;  // mean patch size at that threshold, e.g. 4.47
  double target_mean = 0;    // what was asked, e.g. 4.5
  int64_t n_positions = 0;   // sum of all patch lengths
  int64_t n_patches = 0;
  // The target lies outside [mean at threshold 0, mean when no entropy fires]: the nearest end was
  // returned. A caller should warn; achieved_mean says how far off it is.
  bool clamped = false;
};

// entropies: one vector (L_s) per sample sequence (entropy mode; tokens are not needed). Uses the
// entropy-mode options of `args` (monotonicity, threshold_add, max_patch_length); args.threshold is
// ignored. Throws ConfigError for a mode other than entropy or a target that is not a positive
// number, ShapeError when there are no positions at all.
Calibration calibrate_threshold(const PatcherArgs& args, std::span<const std::vector<float>> entropies,
                                double target_mean, bool include_next_token = false);

}  // namespace blt::patching
