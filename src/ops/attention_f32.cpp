// The fp32 attention forward on AVX-512 with query rows in vector lanes. A work item is 32 query
// rows of one head (two vectors of 16 lanes): the scores of one key for the item are two vectors,
// and the running max m, the sum l and the key-range masks are per lane, so the online softmax is
// vertical (no horizontal reductions). Per chunk of up to 96 keys: S = scale·Q Kᵀ in register blocks
// of up to 12 keys, masked and max-reduced before the store; P = exp(S − m) in one pass; then
// O = α·O + P V in register blocks of up to 12 head columns. Q is transposed into the item's scratch
// and O accumulated transposed (the item loop, shared with the AVX2 kernel: attention_lane_loop.h); K
// and V rows are read where they lie (a head-contiguous copy measured slower: the chunk's rows stay in
// cache either way).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "ops/attention_kernels.h"
#include "ops/attention_lane_loop.h"
#include "ops/attention_lanes.h"
#include "ops/vec_math.h"

#define BLT_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

namespace blt::ops::detail {

namespace {

// QkFn (attention_lane_loop.h) for N keys and 32 rows.
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

// PvFn for N head columns and 32 rows.
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

// SoftmaxFn for 32 rows.
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

struct Avx512 {
  static constexpr int kRows = detail::kRows, kBlock = detail::kBlock;
  static constexpr auto qk = block_table<QkFn>([](auto n) { return &qk_block<n()>; });
  static constexpr auto pv = block_table<PvFn>([](auto n) { return &pv_block<n()>; });
  static constexpr SoftmaxFn softmax = &softmax_chunk;
  static void store(const AttnDims& d, const ItemRows& it, const LaneState& s, const float* ot, float* out,
                    float* lse) {
    store_output(d, it, s, ot, kRows, out, lse);
  }
};

}  // namespace

bool use_attention_f32(const AttnDims& d) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return d.Tq >= kMinRows && avx512;
}

void attention_forward_f32(const AttnDims& d, const float* q, const float* k, const float* v,
                           const KeyRange* ranges, float* out, float* lse) {
  lane_forward<Avx512>(d, {q, k, v, ranges, out, lse});
}

}  // namespace blt::ops::detail
