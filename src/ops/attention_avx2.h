// The register blocks of the fp32 attention kernels on AVX2 (attention_f32_avx2.cpp, the forward;
// attention_f32_avx2_bwd.cpp, the backward): an item's 16 query rows are the lanes of two 8-lane vectors;
// a block holds the scores of up to 6 keys, or Oᵀ of up to 6 head columns (12 accumulators, 2 row vectors
// and a broadcast: the 16 registers). exp8 is exp_fast's algorithm in intrinsics: written as a plain loop
// under the target attribute, GCC 12 left the softmax scalar and the kernel was slower than the tiled one.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "ops/attention_item.h"
#include "ops/attention_lane_loop.h"

#define BLT_AVX2 __attribute__((target("avx2,fma")))

namespace blt::ops::detail::avx2 {

constexpr int kWidth = 8;              // lanes of a vector
constexpr int kItemRows = 2 * kWidth;  // query rows of an item
constexpr int kRegBlock = 6;           // keys or head columns per register block

// Whether lanes' key ranges [lo, hi) hold key j, as a float mask (all ones where they do).
BLT_AVX2 inline __m256 lanes_hold(__m256i lo, __m256i hi, int32_t j) {
  const __m256i key = _mm256_set1_epi32(j);
  return _mm256_castsi256_ps(_mm256_andnot_si256(_mm256_cmpgt_epi32(lo, key), _mm256_cmpgt_epi32(hi, key)));
}

// (a0[n], a1[n]) += x[0..16) · b[n·ldb] for the N blocks' accumulators: one step of a register block's
// product (x a column of Qᵀ or a key's probabilities; b a head column of N keys, or N columns of a value).
template <int N>
[[gnu::always_inline]] BLT_AVX2 inline void rank1_update(const float* x, const float* b, int64_t ldb,
                                                         __m256* a0, __m256* a1) {
  const __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + kWidth);
#pragma GCC unroll 6
  for (int n = 0; n < N; ++n) {
    const __m256 bn = _mm256_broadcast_ss(b + n * ldb);
    a0[n] = _mm256_fmadd_ps(x0, bn, a0[n]);
    a1[n] = _mm256_fmadd_ps(x1, bn, a1[n]);
  }
}

// st[n][h·8 ..] = scale·a[n] for rows 8h..8h+7 of N keys from key index j0, masked to each lane's
// [lo, hi) when `mask`; mx[h·8 ..] = max(mx, scores).
template <int N>
[[gnu::always_inline]] BLT_AVX2 inline void store_half(const __m256* a, int h, float scale, const Lanes& ln,
                                                       int32_t j0, bool mask, float* st, float* mx) {
  const __m256 sc = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ln.lo + h * kWidth));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ln.hi + h * kWidth));
  __m256 m = _mm256_loadu_ps(mx + h * kWidth);
#pragma GCC unroll 6
  for (int n = 0; n < N; ++n) {
    __m256 s = _mm256_mul_ps(a[n], sc);
    if (mask) s = _mm256_blendv_ps(ninf, s, lanes_hold(lo, hi, j0 + n));
    m = _mm256_max_ps(m, s);
    _mm256_storeu_ps(st + n * kItemRows + h * kWidth, s);
  }
  _mm256_storeu_ps(mx + h * kWidth, m);
}

// attention_lane_loop.h's QkFn for N keys and 16 rows: a0, a1 hold rows 0..7 and 8..15.
template <int N>
BLT_AVX2 inline void qk_block(const float* qt, int64_t Dh, const float* K, int64_t ldk, int32_t j0,
                              const Lanes& ln, bool mask, float scale, float* st, float* mx) {
  __m256 a0[N], a1[N];
#pragma GCC unroll 6
  for (int n = 0; n < N; ++n) a0[n] = a1[n] = _mm256_setzero_ps();
  for (int64_t c = 0; c < Dh; ++c) rank1_update<N>(qt + c * kItemRows, K + c, ldk, a0, a1);
  store_half<N>(a0, 0, scale, ln, j0, mask, st, mx);
  store_half<N>(a1, 1, scale, ln, j0, mask, st, mx);
}

// attention_lane_loop.h's PvFn for N head columns and 16 rows: a0, a1 hold rows 0..7 and 8..15.
template <int N>
BLT_AVX2 inline void pv_block(const float* pt, int64_t nk, const float* V, int64_t ldv, const float* alpha,
                              float* ot) {
  __m256 a0[N], a1[N];
  const __m256 al0 = _mm256_loadu_ps(alpha), al1 = _mm256_loadu_ps(alpha + kWidth);
#pragma GCC unroll 6
  for (int n = 0; n < N; ++n) {
    a0[n] = _mm256_mul_ps(_mm256_loadu_ps(ot + n * kItemRows), al0);
    a1[n] = _mm256_mul_ps(_mm256_loadu_ps(ot + n * kItemRows + kWidth), al1);
  }
  for (int64_t j = 0; j < nk; ++j) rank1_update<N>(pt + j * kItemRows, V + j * ldv, 1, a0, a1);
#pragma GCC unroll 6
  for (int n = 0; n < N; ++n) {
    _mm256_storeu_ps(ot + n * kItemRows, a0[n]);
    _mm256_storeu_ps(ot + n * kItemRows + kWidth, a1[n]);
  }
}

// exp_fast (vec_math.h) on 8 lanes: x clamped to [−104, 88.8], x = n·ln2 + r (Cody-Waite, n rounded to
// nearest), the same degree-6 polynomial in r, 2^n as two normal factors; exp(x < −104) = 0,
// exp(x > 88.8) = inf, NaN stays NaN.
BLT_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-104.0f), hi = _mm256_set1_ps(88.8f);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);  // NaN lanes: −104 (restored below)
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  for (const float c :
       {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
  p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// The block functions for n = 1..6 keys or head columns, at [n − 1].
constexpr auto qk_blocks = block_table<QkFn, kRegBlock>([](auto n) { return &qk_block<n()>; });
constexpr auto pv_blocks = block_table<PvFn, kRegBlock>([](auto n) { return &pv_block<n()>; });

}  // namespace blt::ops::detail::avx2
