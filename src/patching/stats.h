// Summary statistics of patch lengths (count, mean, median, min, max and a
// length histogram), for `blt patch` and calibration reports. Zero lengths
// are batch padding and are skipped; negative lengths are an error.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace blt::patching {

struct LengthBucket {
  int32_t lo = 0;     // smallest length in the bucket, e.g. 17
  int32_t hi = 0;     // largest, e.g. 32; INT32_MAX for the open-ended last bucket
  int64_t count = 0;  // patches whose length falls in [lo, hi]
};

struct PatchStats {
  int64_t n_patches = 0;    // non-empty patches
  int64_t n_positions = 0;  // sum of lengths
  double mean = 0;          // n_positions / n_patches, e.g. 4.5
  double median = 0;        // middle length (mean of the two middle ones for an even count)
  int32_t min = 0;
  int32_t max = 0;
  std::vector<LengthBucket> histogram;  // lengths 1..16 one bucket each, then 17-32, 33-64, 65+
};

// Statistics of lengths fed in any number of pieces (a streamed `blt patch`): memory grows with the
// number of distinct lengths only, never with the number of patches.
class PatchStatsAccumulator {
 public:
  void add(std::span<const int32_t> lengths);  // ShapeError for a negative length
  PatchStats stats() const;

 private:
  std::map<int32_t, int64_t> counts_;  // non-empty length -> patches of that length
};

// lengths (P) of one or more rows -> statistics; all zero for no patches.
PatchStats patch_stats(std::span<const int32_t> lengths);
PatchStats patch_stats(const std::vector<std::vector<int32_t>>& rows);  // (B,P), zero-padded

// A few lines of text: the numbers, then one bar per bucket up to the largest non-empty one.
std::string format_patch_stats(const PatchStats& s);

}  // namespace blt::patching
