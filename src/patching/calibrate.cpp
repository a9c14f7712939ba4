// Threshold calibration by bisection over the candidate thresholds: 0 and
// every positive float32 value that a patch-start rule compares against the
// threshold (entropies, and entropy differences for monotonicity). Any
// threshold in [c_k, c_{k+1}) gives the same patches as c_k; we return a
// point inside that interval (its midpoint when float32 keeps it inside).
#include "patching/calibrate.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "patching/patcher.h"

namespace blt::patching {

namespace {

struct Count {
  int64_t positions = 0;
  int64_t patches = 0;
  double mean() const { return static_cast<double>(positions) / static_cast<double>(patches); }
};

Count count_at(PatcherArgs args, double threshold, std::span<const std::vector<float>> entropies,
               std::span<const std::vector<int32_t>> tokens, bool include_next_token) {
  args.threshold = threshold;
  Count c;
  for (size_t s = 0; s < entropies.size(); ++s) {
    if (entropies[s].empty()) continue;
    for (int32_t l : patch_lengths(args, tokens[s], entropies[s], include_next_token)) {
      c.positions += l;
      c.patches += l > 0;
    }
  }
  return c;
}

}  // namespace

Calibration calibrate_threshold(const PatcherArgs& args, std::span<const std::vector<float>> entropies,
                                double target_mean, bool include_next_token) {
  if (args.patching_mode != PatchingMode::Entropy)
    throw ConfigError("[calibrate_threshold] field 'patching_mode' must be entropy, got " +
                      to_string(args.patching_mode));
  if (!(target_mean > 0) || !std::isfinite(target_mean))
    throw ConfigError("[calibrate_threshold] target mean patch size must be a positive number, got " +
                      std::to_string(target_mean));

  // Candidates: every value a start rule compares with the threshold (a superset is harmless).
  std::vector<float> cand = {0.0f};
  std::vector<std::vector<int32_t>> tokens(entropies.size());  // entropy mode only needs the length
  int64_t n_tokens = 0;
  for (size_t s = 0; s < entropies.size(); ++s) {
    const std::vector<float>& h = entropies[s];
    tokens[s].assign(h.size(), 0);
    n_tokens += static_cast<int64_t>(h.size());
    for (size_t i = 0; i < h.size(); ++i) {
      cand.push_back(h[i]);
      if (args.monotonicity && i > 0) cand.push_back(h[i] - h[i - 1]);  // float32 difference, as compared
    }
  }
  if (n_tokens == 0) throw ShapeError("[calibrate_threshold] no entropies to calibrate on");
  std::erase_if(cand, [](float v) { return !(v >= 0) || !std::isfinite(v); });
  std::sort(cand.begin(), cand.end());
  cand.erase(std::unique(cand.begin(), cand.end()), cand.end());

  auto count = [&](size_t k) { return count_at(args, cand[k], entropies, tokens, include_next_token); };
  // The mean is non-decreasing in k: find the first k whose mean reaches the target.
  size_t lo = 0, hi = cand.size() - 1;
  Count c_lo = count(lo), c_hi = count(hi);
  size_t best = 0;
  Count c_best;
  Calibration out;
  out.target_mean = target_mean;
  if (target_mean <= c_lo.mean()) {
    best = lo;
    c_best = c_lo;
    out.clamped = target_mean < c_lo.mean();
  } else if (target_mean >= c_hi.mean()) {
    best = hi;
    c_best = c_hi;
    out.clamped = target_mean > c_hi.mean();
  } else {
    // Invariant: mean(lo) < target <= mean(hi).
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      const Count c = count(mid);
      if (c.mean() < target_mean) {
        lo = mid;
        c_lo = c;
      } else {
        hi = mid;
        c_hi = c;
      }
    }
    const bool take_hi = c_hi.mean() - target_mean <= target_mean - c_lo.mean();
    best = take_hi ? hi : lo;
    c_best = take_hi ? c_hi : c_lo;
  }

  // A threshold inside [cand[best], cand[best+1]) as seen in float32: the midpoint unless rounding
  // to float32 pushes it onto the next candidate.
  double t = cand[best];
  if (best + 1 < cand.size()) {
    const double mid = 0.5 * (static_cast<double>(cand[best]) + static_cast<double>(cand[best + 1]));
    if (static_cast<float>(mid) < cand[best + 1]) t = mid;
  }
  out.threshold = t;
  out.n_positions = c_best.positions;
  out.n_patches = c_best.patches;
  out.achieved_mean = c_best.mean();
  return out;
}

}  // namespace blt::patching
