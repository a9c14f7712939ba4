// concat_last / slice_last: strided row copies, forward and backward.
#include "ops/concat.h"

#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"

namespace blt::ops {

namespace {
// dst[r, dst_off : dst_off+w] (+)= src[r, src_off : src_off+w] for r < rows
template <class T, bool Accumulate>
void copy_cols(T* dst, int64_t dst_ld, int64_t dst_off, const T* src, int64_t src_ld, int64_t src_off, int64_t rows,
               int64_t w) {
  parallel_for(rows, worth_forking(static_cast<double>(rows) * w, 65536), [&](int64_t r) {
    T* d = dst + r * dst_ld + dst_off;
    const T* s = src + r * src_ld + src_off;
#pragma omp simd
    for (int64_t c = 0; c < w; ++c) d[c] = Accumulate ? d[c] + s[c] : s[c];
  });
}
}  // namespace

Var concat_last(Graph& g, std::span<const Var> xs) {
  const int64_t n = static_cast<int64_t>(xs.size());
  check(n > 0, "concat", "no inputs");
  const Shape& s0 = xs[0].shape();
  int64_t total = 0;
  bool needs_grad = false;
  for (const Var& x : xs) {
    check(x.shape().rank() == s0.rank() && x.shape().with_last(1) == s0.with_last(1), "concat",
          [&] { return describe("x0", s0) + " vs " + describe("x", x.shape()); });
    check_dtypes("concat", xs[0], x);
    total += x.shape().last();
    needs_grad = needs_grad || x.requires_grad();
  }
  const int64_t rows = s0.rows();
  return record(
      g, {s0.with_last(total), xs[0].dtype(), needs_grad}, {},
      [&]<class T>(const Var& out) {
        int64_t off = 0;
        for (const Var& x : xs) {
          const int64_t w = x.shape().last();
          copy_cols<T, false>(out.value.data<T>(), total, off, x.value.data<T>(), w, 0, rows, w);
          off += w;
        }
      },
      [=]<class T>(const Var& out, std::span<const Var> xs) {
        int64_t off = 0;
        for (const Var& x : xs) {
          const int64_t w = x.shape().last();
          if (x.requires_grad())
            copy_cols<T, true>(x.grad().data<T>(), w, 0, out.grad().data<T>(), total, off, rows, w);
          off += w;
        }
      },
      xs);
}

Var slice_last(Graph& g, const Var& x, int64_t begin, int64_t end) {
  const int64_t D = x.shape().last();
  check(0 <= begin && begin <= end && end <= D, "slice",
        [&] { return "[" + std::to_string(begin) + "," + std::to_string(end) + ") of " + describe("x", x.shape()); });
  const int64_t rows = x.shape().rows(), w = end - begin;
  return record(
      g, {x.shape().with_last(w), x.dtype(), x.requires_grad()}, {},
      [&]<class T>(const Var& out) {
        copy_cols<T, false>(out.value.data<T>(), w, 0, x.value.data<T>(), D, begin, rows, w);
      },
      [=]<class T>(const Var& out) {
        copy_cols<T, true>(x.grad().data<T>(), D, begin, out.grad().data<T>(), w, 0, rows, w);
      });
}

}  // namespace blt::ops
