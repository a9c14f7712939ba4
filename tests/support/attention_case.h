// An attention test case (shapes and per-query key ranges), shared by the attention op and kernel tests.
#pragma once

#include <string>
#include <vector>

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

}  // namespace blt::test
