// Tiled attention forward/backward with an online softmax.
//
// Forward, per (batch, head, query tile): for each key tile inside the union
// of the tile's ranges, S = scale·Q Kᵀ (GEMM), mask to each row's range,
// rescale the running max m and sum l, O += P V (GEMM); finally O /= l and
// lse = m + log l. Backward recomputes P = exp(S − lse) and, with
// D = rowsum(dO ∘ O): dV += Pᵀ dO, dP = dO Vᵀ, dS = P ∘ (dP − D),
// dQ += scale·dS K, dK += scale·dSᵀ Q. Work items are independent except
// for dK/dV, which each thread accumulates privately and which are summed
// in thread order afterwards (deterministic for a fixed thread count).
#include "ops/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "blas/gemm.h"
#include "ops/attention_kernels.h"
#include "ops/check.h"
#include "ops/parallel.h"
#include "ops/record.h"
#include "ops/vec_math.h"

namespace blt::ops {

namespace {

constexpr int64_t kTileQ = 64;
// Below this many multiply-adds a call runs on one thread: fork/join would cost more than it saves.
constexpr double kParallelWork = 1 << 18;
constexpr int64_t kTileK = 256;

// Grow-only per-thread scratch.
template <class T>
T* thread_scratch(size_t n, int slot) {
  static thread_local std::vector<T> bufs[3];
  if (bufs[slot].size() < n) bufs[slot].resize(n);
  return bufs[slot].data();
}

// The key interval [lo, hi) covering every non-empty range of rows [0, n).
std::pair<int32_t, int32_t> key_union(const KeyRange* rr, int64_t n) {
  int32_t lo = std::numeric_limits<int32_t>::max(), hi = std::numeric_limits<int32_t>::min();
  for (int64_t r = 0; r < n; ++r)
    if (rr[r].lo < rr[r].hi) {
      lo = std::min(lo, rr[r].lo);
      hi = std::max(hi, rr[r].hi);
    }
  return {lo, hi};
}

bool tile_has_pairs(const KeyRange* rr, int64_t n, int32_t k0, int32_t k1) {
  for (int64_t r = 0; r < n; ++r)
    if (std::max(rr[r].lo, k0) < std::min(rr[r].hi, k1)) return true;
  return false;
}

// For each key tile [k0, k1) of a query tile (rows rr[0..nq)) that holds an allowed pair: computes the
// scores S = scale·Q Kᵀ (nq × nk, row stride kTileK), zeroes the rows with no allowed key in the
// tile, and calls fn(k0, nk, r, lo, hi) for every other row r with its allowed columns [lo, hi);
// then after(k0, nk) once per tile.
template <class T, class RowFn, class TileFn>
void for_each_score_tile(const KeyRange* rr, int64_t nq, const T* Q, int64_t ldq, const T* K, int64_t ldk, int64_t Dh,
                         T scale, T* S, RowFn&& row, TileFn&& after) {
  const auto [klo, khi] = key_union(rr, nq);
  for (int32_t k0 = klo; k0 < khi; k0 += kTileK) {
    const int32_t k1 = static_cast<int32_t>(std::min<int64_t>(k0 + kTileK, khi));
    const int64_t nk = k1 - k0;
    if (!tile_has_pairs(rr, nq, k0, k1)) continue;
    blas::gemm<T>(false, true, nq, nk, Dh, scale, Q, ldq, K + k0 * ldk, ldk, T(0), S, kTileK);
    for (int64_t r = 0; r < nq; ++r) {
      const int64_t lo = std::max(rr[r].lo, k0) - k0, hi = std::min(rr[r].hi, k1) - k0;
      T* s = S + r * kTileK;
      if (lo >= hi) {
        std::fill(s, s + nk, T(0));
        continue;
      }
      std::fill(s, s + lo, T(0));
      row(r, s, lo, hi);
      std::fill(s + hi, s + nk, T(0));
    }
    after(k0, nk);
  }
}

}  // namespace

int64_t attention_pairs(std::span<const KeyRange> ranges) {
  int64_t n = 0;
  for (const KeyRange& r : ranges) n += std::max(0, r.hi - r.lo);
  return n;
}

template <class T>
void attention_forward(const AttnDims& d, const T* q, const T* k, const T* v, const KeyRange* ranges, T* out, T* lse) {
  if constexpr (std::is_same_v<T, float>) {
    if (detail::use_attention_f32(d)) return detail::attention_forward_f32(d, q, k, v, ranges, out, lse);
    if (detail::use_attention_f32_avx2(d))
      return detail::attention_forward_f32_avx2(d, q, k, v, ranges, out, lse);
  }
  const int64_t n_qt = (d.Tq + kTileQ - 1) / kTileQ, group = d.Hq / d.Hkv;
  const int64_t ldq = d.Hq * d.Dh, ldk = d.Hkv * d.Dh, Dh = d.Dh;
  const T scale = static_cast<T>(d.scale);
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, kParallelWork);
  // One work item per (batch b, head h, query tile qt); items write disjoint rows of out and lse.
  parallel_for<Schedule::Dynamic>(d.B * d.Hq * n_qt, parallel, [&](int64_t item) {
    const int64_t b = item / (d.Hq * n_qt), h = (item / n_qt) % d.Hq, qt = item % n_qt;
    const int64_t t0 = qt * kTileQ, nq = std::min(kTileQ, d.Tq - t0);
    const KeyRange* rr = ranges + b * d.Tq + t0;
    const T* Q = q + (b * d.Tq + t0) * ldq + h * Dh;
    const T* K = k + b * d.Tk * ldk + (h / group) * Dh;
    const T* V = v + b * d.Tk * ldk + (h / group) * Dh;
    T* O = out + (b * d.Tq + t0) * ldq + h * Dh;
    T* L = lse + (b * d.Hq + h) * d.Tq + t0;
    T* S = thread_scratch<T>(kTileQ * kTileK, 0);
    T* acc = thread_scratch<T>(kTileQ * Dh, 1);
    T* ml = thread_scratch<T>(2 * kTileQ, 2);  // running max m, then sum l
    T* m = ml;
    T* l = ml + kTileQ;
    for (int64_t r = 0; r < nq; ++r) {
      m[r] = -std::numeric_limits<T>::infinity();
      l[r] = 0;
    }
    std::fill(acc, acc + nq * Dh, T(0));
    for_each_score_tile(
        rr, nq, Q, ldq, K, ldk, Dh, scale, S,
        [&](int64_t r, T* s, int64_t lo, int64_t hi) {
          // Online softmax: new running max, rescale the sum and the accumulator, add this tile.
          T mx = s[lo];
          for (int64_t j = lo + 1; j < hi; ++j) mx = std::max(mx, s[j]);
          const T m_new = std::max(m[r], mx);
          const T alpha = exp_fast(m[r] - m_new);
          T sum = 0;
#pragma omp simd reduction(+ : sum)
          for (int64_t j = lo; j < hi; ++j) {
            const T p = exp_fast(s[j] - m_new);
            s[j] = p;
            sum += p;
          }
          l[r] = l[r] * alpha + sum;
          if (alpha != T(1)) {
            T* a = acc + r * Dh;
#pragma omp simd
            for (int64_t c = 0; c < Dh; ++c) a[c] *= alpha;
          }
          m[r] = m_new;
        },
        [&](int32_t k0, int64_t nk) {
          blas::gemm<T>(false, false, nq, Dh, nk, T(1), S, kTileK, V + k0 * ldk, ldk, T(1), acc, Dh);
        });
    for (int64_t r = 0; r < nq; ++r) {
      T* o = O + r * ldq;
      if (l[r] > 0) {
        const T inv = T(1) / l[r];
        for (int64_t c = 0; c < Dh; ++c) o[c] = acc[r * Dh + c] * inv;
        L[r] = m[r] + std::log(l[r]);
      } else {
        std::fill(o, o + Dh, T(0));
        L[r] = -std::numeric_limits<T>::infinity();
      }
    }
  });
}

namespace {

// What the backward of one call reads, and dQ, which work items write in disjoint rows.
template <class T>
struct BackwardIo {
  const T *q, *k, *v;
  const KeyRange* ranges;
  const T *out, *lse, *dout;
  T* dq;
};

// Backward of work item (batch b, head h, query tile qt): dQ += for the tile's rows; dK, dV += into
// dk, dv (a thread's private buffers, or the outputs themselves on one thread; either may be null).
template <class T>
void backward_item(const AttnDims& d, const BackwardIo<T>& io, int64_t item, T* dk, T* dv) {
  const int64_t n_qt = (d.Tq + kTileQ - 1) / kTileQ, group = d.Hq / d.Hkv;
  const int64_t ldq = d.Hq * d.Dh, ldk = d.Hkv * d.Dh, Dh = d.Dh;
  const T scale = static_cast<T>(d.scale);
  const int64_t b = item / (d.Hq * n_qt), h = (item / n_qt) % d.Hq, qt = item % n_qt;
  const int64_t t0 = qt * kTileQ, nq = std::min(kTileQ, d.Tq - t0);
  const int64_t qoff = (b * d.Tq + t0) * ldq + h * Dh;
  const int64_t koff = b * d.Tk * ldk + (h / group) * Dh;
  const T *Q = io.q + qoff, *O = io.out + qoff, *dO = io.dout + qoff, *K = io.k + koff, *V = io.v + koff;
  const T* L = io.lse + (b * d.Hq + h) * d.Tq + t0;
  T* dq = io.dq ? io.dq + qoff : nullptr;
  if (dk) dk += koff;
  if (dv) dv += koff;
  T* S = thread_scratch<T>(kTileQ * kTileK, 0);
  T* dP = thread_scratch<T>(kTileQ * kTileK, 1);
  T* Dr = thread_scratch<T>(kTileQ, 2);
  for (int64_t r = 0; r < nq; ++r) {  // D = rowsum(dO ∘ O)
    T acc = 0;
    for (int64_t c = 0; c < Dh; ++c) acc += dO[r * ldq + c] * O[r * ldq + c];
    Dr[r] = acc;
  }
  for_each_score_tile(
      io.ranges + b * d.Tq + t0, nq, Q, ldq, K, ldk, Dh, scale, S,
      [&](int64_t r, T* s, int64_t lo, int64_t hi) {
        const T lr = L[r];  // P = exp(S − lse), recomputed
#pragma omp simd
        for (int64_t j = lo; j < hi; ++j) s[j] = exp_fast(s[j] - lr);
      },
      [&](int32_t k0, int64_t nk) {
        if (dv) blas::gemm<T>(true, false, nk, Dh, nq, T(1), S, kTileK, dO, ldq, T(1), dv + k0 * ldk, ldk);
        if (!dq && !dk) return;
        blas::gemm<T>(false, true, nq, nk, Dh, T(1), dO, ldq, V + k0 * ldk, ldk, T(0), dP, kTileK);
        for (int64_t r = 0; r < nq; ++r) {  // dS = P ∘ (dP − D)
          T* ds = dP + r * kTileK;
          const T* p = S + r * kTileK;
          const T dr = Dr[r];
#pragma omp simd
          for (int64_t j = 0; j < nk; ++j) ds[j] = p[j] * (ds[j] - dr);
        }
        if (dq) blas::gemm<T>(false, false, nq, Dh, nk, scale, dP, kTileK, K + k0 * ldk, ldk, T(1), dq, ldq);
        if (dk) blas::gemm<T>(true, false, nk, Dh, nq, scale, dP, kTileK, Q, ldq, T(1), dk + k0 * ldk, ldk);
      });
}

// dk, dv (n) += Σ_t the private (dK, dV) pair of thread t (2n each) in thread order. Called by every
// member of the team, which splits the elements between them.
template <class T>
void sum_private_kv(const T* pairs, int n_pairs, int64_t n, T* dk, T* dv) {
#pragma omp for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T sk = 0, sv = 0;
    for (int t = 0; t < n_pairs; ++t) {
      sk += pairs[2 * n * t + i];
      sv += pairs[2 * n * t + n + i];
    }
    if (dk) dk[i] += sk;
    if (dv) dv[i] += sv;
  }
}

}  // namespace

template <class T>
void attention_backward(const AttnDims& d, const T* q, const T* k, const T* v, const KeyRange* ranges, const T* out,
                        const T* lse, const T* dout, T* dq, T* dk, T* dv) {
  if constexpr (std::is_same_v<T, float>)
    if (!detail::use_attention_f32(d) && detail::use_attention_f32_avx2_backward(d))
      return detail::attention_backward_f32_avx2(d, q, k, v, ranges, out, lse, dout, dq, dk, dv);
  const BackwardIo<T> io{q, k, v, ranges, out, lse, dout, dq};
  const int64_t n_items = d.B * d.Hq * ((d.Tq + kTileQ - 1) / kTileQ), kv_size = d.B * d.Tk * d.Hkv * d.Dh;
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, kParallelWork);
  const int n_threads = parallel ? omp_get_max_threads() : 1;
  // Threads > 1: each accumulates dK and dV privately; summed in thread order below. The buffer is the
  // calling thread's, so backward passes running at once on different threads never share it.
  static thread_local std::vector<T> private_kv;
  const bool use_private = n_threads > 1 && (dk || dv);
  if (use_private && private_kv.size() < static_cast<size_t>(2 * kv_size * n_threads))
    private_kv.resize(2 * kv_size * n_threads);
  T* const pkv = private_kv.data();  // the team's threads see the caller's buffer through this pointer
  run_team(n_threads, [&](int tid, int nt) {
    T* my_dk = dk;
    T* my_dv = dv;
    if (use_private) {
      my_dk = pkv + 2 * kv_size * tid;
      my_dv = my_dk + kv_size;
      std::fill(my_dk, my_dk + 2 * kv_size, T(0));
    }
    // Static round-robin: balanced for causal masks and reproducible. (On one thread these
    // worksharing loops run every iteration on the caller.)
#pragma omp for schedule(static, 1)
    for (int64_t item = 0; item < n_items; ++item) backward_item(d, io, item, my_dk, my_dv);
    // Implicit barrier above: every private buffer is complete.
    if (use_private) sum_private_kv(pkv, nt, kv_size, dk, dv);
  });
}

template <class T>
void attention_forward_naive(const AttnDims& d, const T* q, const T* k, const T* v, const KeyRange* ranges, T* out) {
  const int64_t group = d.Hq / d.Hkv, ldq = d.Hq * d.Dh, ldk = d.Hkv * d.Dh;
  std::vector<double> w(d.Tk);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t t = 0; t < d.Tq; ++t)
      for (int64_t h = 0; h < d.Hq; ++h) {
        const KeyRange r = ranges[b * d.Tq + t];
        const T* Q = q + (b * d.Tq + t) * ldq + h * d.Dh;
        T* O = out + (b * d.Tq + t) * ldq + h * d.Dh;
        double mx = -INFINITY;
        for (int64_t s = 0; s < d.Tk; ++s) {
          const bool allowed = s >= r.lo && s < r.hi;
          const T* K = k + (b * d.Tk + s) * ldk + (h / group) * d.Dh;
          double dot = 0;
          for (int64_t c = 0; c < d.Dh; ++c) dot += static_cast<double>(Q[c]) * K[c];
          w[s] = allowed ? dot * d.scale : -INFINITY;
          mx = std::max(mx, w[s]);
        }
        double sum = 0;
        for (int64_t s = 0; s < d.Tk; ++s) {
          w[s] = std::isinf(mx) ? 0.0 : std::exp(w[s] - mx);
          sum += w[s];
        }
        for (int64_t c = 0; c < d.Dh; ++c) {
          double acc = 0;
          for (int64_t s = 0; s < d.Tk; ++s)
            if (w[s] != 0) acc += w[s] * v[(b * d.Tk + s) * ldk + (h / group) * d.Dh + c];
          O[c] = static_cast<T>(sum > 0 ? acc / sum : 0.0);
        }
      }
}

Var attention(Graph& g, const Var& q, const Var& k, const Var& v, std::span<const KeyRange> ranges, double scale) {
  const Shape &qs = q.shape(), &ks = k.shape();
  check(qs.rank() == 4 && ks.rank() == 4 && ks == v.shape() && qs[0] == ks[0] && qs[3] == ks[3] && ks[2] > 0 &&
            qs[2] % ks[2] == 0,
        "attention",
        [&] { return describe("q", qs) + " vs " + describe("k", ks) + " vs " + describe("v", v.shape()); });
  check_dtypes("attention", q, k);
  check_dtypes("attention", q, v);
  const AttnDims d{qs[0], qs[1], ks[1], qs[2], ks[2], qs[3], scale};
  check(static_cast<int64_t>(ranges.size()) == d.B * d.Tq, "attention",
        [&] { return std::to_string(ranges.size()) + " key ranges for " + describe("q", qs); });
  for (const KeyRange& r : ranges)
    check(r.lo >= r.hi || (r.lo >= 0 && r.hi <= d.Tk), "attention", [&] {
      return "key range [" + std::to_string(r.lo) + "," + std::to_string(r.hi) + ") outside " + std::to_string(d.Tk) +
             " keys";
    });
  TensorView lse = g.scratch(Shape{d.B, d.Hq, d.Tq}, q.dtype());
  const double flops = 4.0 * d.Dh * d.Hq * attention_pairs(ranges);
  // Precision::BF16 (float only): AMX tiles for forward and backward; else, on AVX512-BF16, VDPBF16PS for
  // both, or for the forward alone when no gradient flows. A bf16 forward never feeds the fp32 backward:
  // that one recomputes P from unrounded q, k against the lse of rounded ones, and at large scores the two
  // disagree enough to blow gradients up (a tiny byte LM at lr 10 went non-finite at step 3 with it).
  const bool bf16 = g.precision() == Precision::BF16, amx = bf16 && detail::use_attention_amx(d);
  const bool grads = g.recording() && any_requires_grad(q, k, v);
  const bool bf16_pairs =
      bf16 && !amx &&
      (grads ? detail::use_attention_avx512bf16_backward(d) : detail::use_attention_avx512bf16(d));
  return record(
      g, {qs, q.dtype(), any_requires_grad(q, k, v)}, {flops, 2 * flops},
      [&]<class T>(const Var& out) {
        if constexpr (std::is_same_v<T, float>) {
          if (amx)
            return detail::attention_forward_amx(d, q.value.data<T>(), k.value.data<T>(), v.value.data<T>(),
                                                 ranges.data(), out.value.data<T>(), lse.data<T>());
          if (bf16_pairs)
            return detail::attention_forward_avx512bf16(d, q.value.data<T>(), k.value.data<T>(),
                                                        v.value.data<T>(), ranges.data(), out.value.data<T>(),
                                                        lse.data<T>());
        }
        attention_forward<T>(d, q.value.data<T>(), k.value.data<T>(), v.value.data<T>(), ranges.data(),
                             out.value.data<T>(), lse.data<T>());
      },
      [=]<class T>(const Var& out, std::span<const KeyRange> ranges) {
        if constexpr (std::is_same_v<T, float>)
          if (amx || bf16_pairs)
            return (amx ? detail::attention_backward_amx : detail::attention_backward_avx512bf16)(
                d, q.value.data<T>(), k.value.data<T>(), v.value.data<T>(), ranges.data(),
                out.value.data<T>(), lse.data<T>(), out.grad().data<T>(), grad_or_null<T>(q),
                grad_or_null<T>(k), grad_or_null<T>(v));
        attention_backward<T>(d, q.value.data<T>(), k.value.data<T>(), v.value.data<T>(), ranges.data(),
                              out.value.data<T>(), lse.data<T>(), out.grad().data<T>(), grad_or_null<T>(q),
                              grad_or_null<T>(k), grad_or_null<T>(v));
      },
      ranges);
}

template void attention_forward<float>(const AttnDims&, const float*, const float*, const float*, const KeyRange*,
                                       float*, float*);
template void attention_forward<double>(const AttnDims&, const double*, const double*, const double*,
                                        const KeyRange*, double*, double*);
template void attention_backward<float>(const AttnDims&, const float*, const float*, const float*, const KeyRange*,
                                        const float*, const float*, const float*, float*, float*, float*);
template void attention_backward<double>(const AttnDims&, const double*, const double*, const double*,
                                         const KeyRange*, const double*, const double*, const double*, double*,
                                         double*, double*);
template void attention_forward_naive<float>(const AttnDims&, const float*, const float*, const float*,
                                             const KeyRange*, float*);
template void attention_forward_naive<double>(const AttnDims&, const double*, const double*, const double*,
                                              const KeyRange*, double*);

}  // namespace blt::ops
