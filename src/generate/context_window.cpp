// Context cuts.
#include "generate/context_window.h"

#include <algorithm>

namespace blt::gen {

int64_t context_cut(std::span<const int32_t> lengths, int64_t n, int64_t capacity) {
  const int64_t target = std::max<int64_t>(1, n - std::max<int64_t>(1, capacity / 2));
  int64_t start = 0;
  for (int32_t len : lengths) {
    if (start >= n) break;  // the next token's patch: cutting there would keep nothing
    if (start >= target) return start;
    start += len;
  }
  return target;  // no patch starts in [target, n): cut there
}

int64_t prompt_cut(int64_t n, int64_t capacity) { return n > capacity ? n - std::max<int64_t>(1, capacity / 2) : 0; }

}  // namespace blt::gen
