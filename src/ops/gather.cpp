// gather_rows: per-batch indices turned into rows of the flattened (B·P, D) table.
#include "ops/gather.h"

#include "ops/check.h"
#include "ops/embedding.h"
#include "ops/record.h"

namespace blt::ops {

Var gather_rows(Graph& g, const Var& x, std::span<const int32_t> idx, int64_t N) {
  const Shape& s = x.shape();
  check(s.rank() == 3, "gather_rows", [&] { return describe("x", s) + " must be (B,P,D)"; });
  const int64_t B = s[0], P = s[1], D = s[2];
  check(static_cast<int64_t>(idx.size()) == B * N, "gather_rows", [&] {
    return std::to_string(idx.size()) + " indices for B=" + std::to_string(B) + ", N=" + std::to_string(N);
  });
  int32_t* flat = arena_array<int32_t>(g, static_cast<size_t>(B * N));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < N; ++i) {
      const int32_t j = idx[b * N + i];
      check(j >= 0 && j < P, "gather_rows",
            [&] { return "index " + std::to_string(j) + " outside " + std::to_string(P) + " rows"; });
      flat[b * N + i] = static_cast<int32_t>(b * P + j);
    }
  return embedding(g, x.reshape(Shape{B * P, D}), {flat, static_cast<size_t>(B * N)}, Shape{B, N});
}

}  // namespace blt::ops
