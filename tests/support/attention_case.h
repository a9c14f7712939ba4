// An attention test case (shapes and per-query key ranges), shared by the attention op and kernel tests.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "core/rng.h"
#include "ops/attention.h"

namespace blt::test {

struct AttnCase {
  std::string name;
  int64_t B, Tq, Tk, Hq, Hkv, Dh;
  std::vector<ops::KeyRange> ranges;  // (B·Tq)
};

// r (Tq) repeated for each of B batch rows -> (B·Tq)
inline std::vector<ops::KeyRange> repeat_rows(const std::vector<ops::KeyRange>& r, int64_t B) {
  std::vector<ops::KeyRange> out;
  for (int64_t b = 0; b < B; ++b) out.insert(out.end(), r.begin(), r.end());
  return out;
}

// n ranges of random length over Tk keys, one in six empty.
inline std::vector<ops::KeyRange> random_ranges(int64_t n, int64_t Tk, uint64_t seed) {
  Rng rng(seed);
  std::vector<ops::KeyRange> r(n);
  for (auto& k : r) {
    const int32_t a = static_cast<int32_t>(rng.below(Tk + 1)), b = static_cast<int32_t>(rng.below(Tk + 1));
    k = rng.below(6) == 0 ? ops::KeyRange{a, a} : ops::KeyRange{std::min(a, b), std::max(a, b)};
  }
  return r;
}

// n tokens (byte ids) with EOS (2) at random positions, about one in `eos_one_in`: documents for the masks.
inline std::vector<int32_t> random_docs(int64_t n, uint64_t seed, uint64_t eos_one_in = 10) {
  Rng rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = rng.below(eos_one_in) == 0 ? 2 : 4 + static_cast<int32_t>(rng.below(256));
  return t;
}

}  // namespace blt::test
