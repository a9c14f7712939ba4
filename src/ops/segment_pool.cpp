// Segment pooling forward/backward. Segments never overlap, so work is split
// over (row, segment) without write conflicts.
#include "ops/segment_pool.h"

#include <algorithm>

#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"

namespace blt::ops {

namespace {
constexpr double kParallelWork = 65536;  // below this many input elements a call runs on one thread
}  // namespace

template <class T>
void segment_pool_forward(PoolMode mode, const T* x, const int32_t* offsets, T* out, int64_t B, int64_t Tn, int64_t P,
                          int64_t D) {
  // One item per (row b, segment p).
  parallel_for(B * P, worth_forking(static_cast<double>(B * Tn) * D, kParallelWork), [&](int64_t bp) {
    const int64_t b = bp / P, p = bp % P;
    const int64_t s0 = offsets[b * (P + 1) + p], s1 = offsets[b * (P + 1) + p + 1];
    T* o = out + bp * D;
    if (s0 >= s1) {
      std::fill(o, o + D, T(0));
      return;
    }
    const T* first = x + (b * Tn + s0) * D;
    std::copy(first, first + D, o);
    for (int64_t t = s0 + 1; t < s1; ++t) {
      const T* xt = x + (b * Tn + t) * D;
      if (mode == PoolMode::Max)
        for (int64_t c = 0; c < D; ++c) o[c] = std::max(o[c], xt[c]);
      else if (mode == PoolMode::Min)
        for (int64_t c = 0; c < D; ++c) o[c] = std::min(o[c], xt[c]);
      else
        for (int64_t c = 0; c < D; ++c) o[c] += xt[c];
    }
    if (mode == PoolMode::Mean) {
      const T n = static_cast<T>(s1 - s0);
      for (int64_t c = 0; c < D; ++c) o[c] /= n;
    }
  });
}

template <class T>
void segment_pool_backward(PoolMode mode, const T* x, const int32_t* offsets, const T* out, const T* dout, T* dx,
                           int64_t B, int64_t Tn, int64_t P, int64_t D) {
  parallel_for(B * P, worth_forking(static_cast<double>(B * Tn) * D, kParallelWork), [&](int64_t bp) {
    const int64_t b = bp / P, p = bp % P;
    const int64_t s0 = offsets[b * (P + 1) + p], s1 = offsets[b * (P + 1) + p + 1];
    if (s0 >= s1) return;
    const T* o = out + bp * D;
    const T* g = dout + bp * D;
    if (mode == PoolMode::Mean) {
      const T n = static_cast<T>(s1 - s0);
      for (int64_t t = s0; t < s1; ++t) {
        T* d = dx + (b * Tn + t) * D;
        for (int64_t c = 0; c < D; ++c) d[c] += g[c] / n;
      }
      return;
    }
    for (int64_t c = 0; c < D; ++c) {
      int64_t ties = 0;
      for (int64_t t = s0; t < s1; ++t) ties += x[(b * Tn + t) * D + c] == o[c];
      const T share = g[c] / static_cast<T>(ties);
      for (int64_t t = s0; t < s1; ++t)
        if (x[(b * Tn + t) * D + c] == o[c]) dx[(b * Tn + t) * D + c] += share;
    }
  });
}

Var segment_pool(Graph& g, const Var& x, std::span<const int32_t> offsets, int64_t P, PoolMode mode) {
  const Shape& s = x.shape();
  check(s.rank() == 3, "segment_pool", [&] { return describe("x", s) + " must be (B,T,D)"; });
  const int64_t B = s[0], Tn = s[1], D = s[2];
  check(static_cast<int64_t>(offsets.size()) == B * (P + 1), "segment_pool", [&] {
    return std::to_string(offsets.size()) + " offsets for B=" + std::to_string(B) + ", P=" + std::to_string(P);
  });
  for (int64_t b = 0; b < B; ++b)
    for (int64_t p = 0; p <= P; ++p) {
      const int32_t o = offsets[b * (P + 1) + p];
      const bool ok = o >= 0 && o <= Tn && (p == 0 || o >= offsets[b * (P + 1) + p - 1]);
      check(ok, "segment_pool", [&] {
        return "offset " + std::to_string(o) + " at (" + std::to_string(b) + "," + std::to_string(p) +
               ") is not a nondecreasing position in [0," + std::to_string(Tn) + "]";
      });
    }
  return record(
      g, {Shape{B, P, D}, x.dtype(), x.requires_grad()}, {},
      [&]<class T>(const Var& out) {
        segment_pool_forward<T>(mode, x.value.data<T>(), offsets.data(), out.value.data<T>(), B, Tn, P, D);
      },
      [=]<class T>(const Var& out, std::span<const int32_t> offsets) {
        segment_pool_backward<T>(mode, x.value.data<T>(), offsets.data(), out.value.data<T>(), out.grad().data<T>(),
                                 x.grad().data<T>(), B, Tn, P, D);
      },
      offsets);
}

template void segment_pool_forward<float>(PoolMode, const float*, const int32_t*, float*, int64_t, int64_t, int64_t,
                                          int64_t);
template void segment_pool_forward<double>(PoolMode, const double*, const int32_t*, double*, int64_t, int64_t, int64_t,
                                           int64_t);
template void segment_pool_backward<float>(PoolMode, const float*, const int32_t*, const float*, const float*, float*,
                                           int64_t, int64_t, int64_t, int64_t);
template void segment_pool_backward<double>(PoolMode, const double*, const int32_t*, const double*, const double*,
                                            double*, int64_t, int64_t, int64_t, int64_t);

}  // namespace blt::ops
