// Patch length statistics and their text rendering: a count per distinct
// length gives median/min/max and the buckets (so lengths can be streamed);
// the text bar chart is scaled to the fullest bucket (40 characters).
#include "patching/stats.h"

#include <algorithm>
#include <climits>
#include <cstdio>

#include "core/error.h"

namespace blt::patching {

namespace {

std::vector<LengthBucket> empty_histogram() {
  std::vector<LengthBucket> h;
  for (int32_t l = 1; l <= 16; ++l) h.push_back({l, l, 0});
  h.push_back({17, 32, 0});
  h.push_back({33, 64, 0});
  h.push_back({65, INT32_MAX, 0});
  return h;
}

// The k-th smallest length (0-based) of the counted ones.
int32_t kth_length(const std::map<int32_t, int64_t>& counts, int64_t k) {
  for (const auto& [l, c] : counts) {
    if (k < c) return l;
    k -= c;
  }
  throw InternalError("[patch_stats] rank past the count");
}

}  // namespace

void PatchStatsAccumulator::add(std::span<const int32_t> lengths) {
  for (int32_t l : lengths) {
    if (l < 0) throw ShapeError("[patch_stats] negative patch length " + std::to_string(l));
    if (l > 0) ++counts_[l];
  }
}

PatchStats PatchStatsAccumulator::stats() const {
  PatchStats s;
  s.histogram = empty_histogram();
  for (const auto& [l, c] : counts_) {
    s.n_patches += c;
    s.n_positions += static_cast<int64_t>(l) * c;
    for (LengthBucket& b : s.histogram)
      if (b.lo <= l && l <= b.hi) b.count += c;
  }
  if (s.n_patches == 0) return s;
  const int64_t n = s.n_patches;
  s.mean = static_cast<double>(s.n_positions) / static_cast<double>(n);
  s.median = n % 2 ? kth_length(counts_, n / 2)
                   : 0.5 * (static_cast<double>(kth_length(counts_, n / 2 - 1)) + kth_length(counts_, n / 2));
  s.min = counts_.begin()->first;
  s.max = counts_.rbegin()->first;
  return s;
}

PatchStats patch_stats(std::span<const int32_t> lengths) {
  PatchStatsAccumulator acc;
  acc.add(lengths);
  return acc.stats();
}

PatchStats patch_stats(const std::vector<std::vector<int32_t>>& rows) {
  PatchStatsAccumulator acc;
  for (const auto& r : rows) acc.add(r);
  return acc.stats();
}

std::string format_patch_stats(const PatchStats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "patches %lld  positions %lld  mean %.3f  median %.1f  min %d  max %d\n",
                static_cast<long long>(s.n_patches), static_cast<long long>(s.n_positions), s.mean, s.median,
                s.min, s.max);
  std::string out = buf;
  size_t last = 0;
  int64_t most = 0;
  for (size_t i = 0; i < s.histogram.size(); ++i) {
    if (s.histogram[i].count > 0) last = i + 1;
    most = std::max(most, s.histogram[i].count);
  }
  constexpr int kBarWidth = 40;
  for (size_t i = 0; i < last; ++i) {
    const LengthBucket& b = s.histogram[i];
    std::string label = b.lo == b.hi        ? std::to_string(b.lo)
                        : b.hi == INT32_MAX ? std::to_string(b.lo) + "+"
                                            : std::to_string(b.lo) + "-" + std::to_string(b.hi);
    const int bar = static_cast<int>((b.count * kBarWidth + most - 1) / most);
    std::snprintf(buf, sizeof buf, "  len %6s | %-*s %lld\n", label.c_str(), kBarWidth,
                  std::string(bar, '#').c_str(), static_cast<long long>(b.count));
    out += buf;
  }
  return out;
}

}  // namespace blt::patching
