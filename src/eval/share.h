// EvalShare: how the ranks of a data-parallel job split one evaluation. Window
// i (in EvalWindows order) is rank i % ranks's; each rank returns its windows'
// sums, one per window; put back in window order and added from 0 (ordered_sum),
// they give exactly what one process running every window adds up.
#pragma once

#include <cstdint>
#include <vector>

namespace blt::eval {

struct EvalShare {
  int rank = 0, ranks = 1;
  bool mine(int64_t window) const { return window % ranks == rank; }
};

// per_rank[r] (the window values of rank r, in its order) -> every window's value, in window order.
inline std::vector<double> in_window_order(const std::vector<std::vector<double>>& per_rank) {
  size_t windows = 0;
  for (const auto& v : per_rank) windows += v.size();
  std::vector<double> out;
  out.reserve(windows);
  for (size_t i = 0; i < windows; ++i) out.push_back(per_rank[i % per_rank.size()].at(i / per_rank.size()));
  return out;
}

// Σ values, left to right from 0 (the order one process adds its windows in).
inline double ordered_sum(const std::vector<double>& values) {
  double s = 0;
  for (double v : values) s += v;
  return s;
}

}  // namespace blt::eval
