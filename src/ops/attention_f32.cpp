// The fp32 attention forward on AVX-512 with query rows in vector lanes. A work item is 32 query
// rows of one head (two vectors of 16 lanes): the scores of one key for the item are two vectors,
// and the running max m, the sum l and the key-range masks are per lane, so the online softmax is
// vertical (no horizontal reductions). Per chunk of up to 96 keys: S = scale·Q Kᵀ in register blocks
// of up to 12 keys, masked and max-reduced before the store; P = exp(S − m) in one pass; then
// O = α·O + P V in register blocks of up to 12 head columns. Q is transposed into the item's scratch
// and O accumulated transposed (attention_item.h); K and V rows are read where they lie (a
// head-contiguous copy measured slower: the chunk's rows stay in cache either way).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/attention_item.h"
#include "ops/attention_kernels.h"
#include "ops/attention_lanes.h"
#include "ops/parallel.h"
#include "ops/vec_math.h"

#define BLT_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

namespace blt::ops::detail {

namespace {

// Below this many multiply-adds a call runs on one thread: fork/join would cost more than it saves.
constexpr double kParallelWork = 1 << 18;

// st (n, 32) = scale·Kᵀ-block scores of n keys (rows ldk apart, from key index j0) for the item's 32
// lanes, from qt (Dh, 32). Masked to each lane's [lo, hi) when `mask`; mx (32) = max(mx, scores).
template <int N>
BLT_AVX512 void qk_block(const float* qt, int64_t Dh, const float* K, int64_t ldk, int32_t j0,
                         const Lanes& ln, bool mask, float scale, float* st, float* mx) {
  __m512 a0[N], a1[N];
  for (int n = 0; n < N; ++n) a0[n] = a1[n] = _mm512_setzero_ps();
  for (int64_t c = 0; c < Dh; ++c) {
    const __m512 q0 = _mm512_loadu_ps(qt + c * kRows), q1 = _mm512_loadu_ps(qt + c * kRows + kLanes);
#pragma GCC unroll 12
    for (int n = 0; n < N; ++n) {
      const __m512 kb = _mm512_set1_ps(K[n * ldk + c]);
      a0[n] = _mm512_fmadd_ps(q0, kb, a0[n]);
      a1[n] = _mm512_fmadd_ps(q1, kb, a1[n]);
    }
  }
  store_scores<N>(a0, a1, scale, ln, j0, mask, st, mx);
}

// ot (N, 32) = alpha ∘ ot + Σ_j pt[j] · V[j][0..N) over nk keys (V rows ldv apart), per lane.
template <int N>
BLT_AVX512 void pv_block(const float* pt, int64_t nk, const float* V, int64_t ldv, const float* alpha,
                         float* ot) {
  __m512 a0[N], a1[N];
  load_rescaled<N>(ot, alpha, a0, a1);
  for (int64_t j = 0; j < nk; ++j) {
    const __m512 p0 = _mm512_loadu_ps(pt + j * kRows), p1 = _mm512_loadu_ps(pt + j * kRows + kLanes);
#pragma GCC unroll 12
    for (int n = 0; n < N; ++n) {
      const __m512 vb = _mm512_set1_ps(V[j * ldv + n]);
      a0[n] = _mm512_fmadd_ps(p0, vb, a0[n]);
      a1[n] = _mm512_fmadd_ps(p1, vb, a1[n]);
    }
  }
  store_rows<N>(a0, a1, ot);
}

using QkFn = void (*)(const float*, int64_t, const float*, int64_t, int32_t, const Lanes&, bool, float,
                      float*, float*);
using PvFn = void (*)(const float*, int64_t, const float*, int64_t, const float*, float*);

constexpr auto kQk = block_table<QkFn>([](auto n) { return &qk_block<n()>; });
constexpr auto kPv = block_table<PvFn>([](auto n) { return &pv_block<n()>; });

// P = exp(S − m_new) in place over st (nk, 32) with m_new = max(m, mx) per lane (0 where still −inf,
// so that fully masked lanes give P = 0, not NaN); alpha = exp(m − m_new), l = alpha·l + Σ_j P; m = m_new.
BLT_AVX512 void softmax_chunk(float* st, int64_t nk, const float* mx, LaneState& s) {
  alignas(64) float mu[kRows], sum[kRows] = {};
#pragma omp simd
  for (int r = 0; r < kRows; ++r) {
    const float m_new = std::max(s.m[r], mx[r]);
    mu[r] = m_new == -INFINITY ? 0.f : m_new;
    s.alpha[r] = exp_fast(s.m[r] - mu[r]);
    s.m[r] = m_new;
  }
  for (int64_t j = 0; j < nk; ++j) {
    float* p = st + j * kRows;
#pragma omp simd simdlen(16)
    for (int r = 0; r < kRows; ++r) {
      p[r] = exp_fast(p[r] - mu[r]);
      sum[r] += p[r];
    }
  }
#pragma omp simd
  for (int r = 0; r < kRows; ++r) s.l[r] = s.l[r] * s.alpha[r] + sum[r];
}

// One thread's item scratch: Qᵀ and Oᵀ (Dh, kRows) and the chunk's scores, then probabilities (kChunk,
// kRows).
struct ItemScratch {
  std::vector<float> qt, ot, st;
};

// Item `item` (see ItemRows): every chunk of its keys through QKᵀ, softmax and PV, then the output.
void forward_item(const AttnDims& d, const ForwardIo<float>& io, int64_t item, ItemScratch& sc) {
  const ItemRows it = item_rows(d, item, kRows);
  Lanes ln;
  const KeyUnion u = lane_ranges(io.ranges + it.b * d.Tq + it.t0, it.nq, ln);
  load_q_transposed(d, io.q, it, kRows, sc.qt.data());
  std::fill(sc.ot.begin(), sc.ot.end(), 0.f);
  LaneState s;
  const int64_t ld = d.Hkv * d.Dh, kv_off = it.b * d.Tk * ld + it.h / (d.Hq / d.Hkv) * d.Dh;
  const float* K = io.k + kv_off;  // key j's row at K + j·ld
  const float* V = io.v + kv_off;
  alignas(64) float mx[kRows];
  for (int32_t j0 = u.lo; j0 < u.hi; j0 += static_cast<int32_t>(kChunk)) {
    const int64_t nk = std::min<int64_t>(kChunk, u.hi - j0);
    const bool mask = !u.covers(j0, j0 + static_cast<int32_t>(nk));
    std::fill(mx, mx + kRows, -INFINITY);
    for_each_block(nk, [&](int64_t off, int64_t n) {
      kQk[n - 1](sc.qt.data(), d.Dh, K + (j0 + off) * ld, ld, j0 + static_cast<int32_t>(off), ln, mask,
                 static_cast<float>(d.scale), sc.st.data() + off * kRows, mx);
    });
    softmax_chunk(sc.st.data(), nk, mx, s);
    for_each_block(d.Dh, [&](int64_t c0, int64_t n) {
      kPv[n - 1](sc.st.data(), nk, V + j0 * ld + c0, ld, s.alpha, sc.ot.data() + c0 * kRows);
    });
  }
  store_output(d, it, s, sc.ot.data(), kRows, io.out, io.lse);
}

}  // namespace

bool use_attention_f32(const AttnDims& d) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return d.Tq >= kMinRows && avx512;
}

void attention_forward_f32(const AttnDims& d, const float* q, const float* k, const float* v,
                           const KeyRange* ranges, float* out, float* lse) {
  const ForwardIo<float> io{q, k, v, ranges, out, lse};
  const bool parallel = worth_forking(static_cast<double>(d.B * d.Hq) * d.Tq * d.Tk * d.Dh, kParallelWork);
  // One work item per (batch, head, block of kRows query rows); items write disjoint rows of out and lse.
  parallel_for<Schedule::Dynamic>(d.B * d.Hq * n_row_blocks(d, kRows), parallel, [&](int64_t item) {
    static thread_local ItemScratch sc;
    sc.qt.resize(d.Dh * kRows);
    sc.ot.resize(d.Dh * kRows);
    sc.st.resize(kChunk * kRows);
    forward_item(d, io, item, sc);
  });
}

}  // namespace blt::ops::detail
