// The register blocks of the lane-vector attention forwards (attention_f32.cpp in fp32,
// attention_avx512bf16.cpp on bf16 pairs): an item's 32 query rows are two vectors' lanes, a block holds
// the scores of up to kBlock keys, or Oᵀ of up to kBlock head columns, as two accumulators each. What
// differs between the two is only the inner product; the masking, the running max, the stores and the
// rescale of Oᵀ are here, with the 16×16 word transpose and the output's store that the AMX forward
// shares (the block sizes' tables: attention_item.h). Compiled for a subset of all three kernels' targets.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "ops/attention_item.h"

#define BLT_AVX512_LANES __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

namespace blt::ops::detail {

// The first min(n, 16) lanes (n ≥ 0): the mask of a row's tail.
inline __mmask16 first_lanes(int64_t n) {
  return n >= kLanes ? __mmask16{0xffff} : static_cast<__mmask16>((1u << n) - 1);
}

// Whether lanes' key ranges [lo, hi) hold key j: the mask of a score vector.
BLT_AVX512_LANES inline __mmask16 lanes_hold(__m512i lo, __m512i hi, int32_t j) {
  const __m512i key = _mm512_set1_epi32(j);
  return _mm512_cmple_epi32_mask(lo, key) & _mm512_cmpgt_epi32_mask(hi, key);
}

// st (N, 32) = scale·(a0, a1) for N keys from key index j0, masked to each lane's [lo, hi) when `mask`;
// mx (32) = max(mx, scores). (max: the zero-masked form with every lane selected, as _mm512_max_ps
// trips GCC 12's -Wuninitialized at -O3 through _mm512_undefined_ps.)
template <int N>
[[gnu::always_inline]] BLT_AVX512_LANES inline void store_scores(const __m512* a0, const __m512* a1,
                                                                 float scale, const Lanes& ln, int32_t j0,
                                                                 bool mask, float* st, float* mx) {
  const __m512 sc = _mm512_set1_ps(scale), ninf = _mm512_set1_ps(-INFINITY);
  const __m512i lo0 = _mm512_loadu_si512(ln.lo), lo1 = _mm512_loadu_si512(ln.lo + kLanes);
  const __m512i hi0 = _mm512_loadu_si512(ln.hi), hi1 = _mm512_loadu_si512(ln.hi + kLanes);
  __m512 m0 = _mm512_loadu_ps(mx), m1 = _mm512_loadu_ps(mx + kLanes);
  for (int n = 0; n < N; ++n) {
    __m512 s0 = _mm512_mul_ps(a0[n], sc), s1 = _mm512_mul_ps(a1[n], sc);
    if (mask) {
      s0 = _mm512_mask_mov_ps(ninf, lanes_hold(lo0, hi0, j0 + n), s0);
      s1 = _mm512_mask_mov_ps(ninf, lanes_hold(lo1, hi1, j0 + n), s1);
    }
    m0 = _mm512_maskz_max_ps(0xffff, m0, s0);
    m1 = _mm512_maskz_max_ps(0xffff, m1, s1);
    _mm512_storeu_ps(st + n * kRows, s0);
    _mm512_storeu_ps(st + n * kRows + kLanes, s1);
  }
  _mm512_storeu_ps(mx, m0);
  _mm512_storeu_ps(mx + kLanes, m1);
}

// (a0, a1) = alpha ∘ ot for N rows of ot (N, 32), per lane.
template <int N>
[[gnu::always_inline]] BLT_AVX512_LANES inline void load_rescaled(const float* ot, const float* alpha,
                                                                  __m512* a0, __m512* a1) {
  const __m512 al0 = _mm512_loadu_ps(alpha), al1 = _mm512_loadu_ps(alpha + kLanes);
  for (int n = 0; n < N; ++n) {
    a0[n] = _mm512_mul_ps(_mm512_loadu_ps(ot + n * kRows), al0);
    a1[n] = _mm512_mul_ps(_mm512_loadu_ps(ot + n * kRows + kLanes), al1);
  }
}

// ot (N, 32) = (a0, a1).
template <int N>
[[gnu::always_inline]] BLT_AVX512_LANES inline void store_rows(const __m512* a0, const __m512* a1,
                                                               float* ot) {
  for (int n = 0; n < N; ++n) {
    _mm512_storeu_ps(ot + n * kRows, a0[n]);
    _mm512_storeu_ps(ot + n * kRows + kLanes, a1[n]);
  }
}

// r[i][c] -> r[c][i] for a 16×16 block of 32-bit words: pairs of rows interleaved by words, then by
// 64-bit pairs (column 4L + k of rows 4i..4i+3 in 128-bit lane L), then 128-bit lanes gathered twice.
// (The all-lanes maskz forms avoid GCC 12's false -Wuninitialized on the plain forms' undefined operand.)
BLT_AVX512_LANES inline void transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_epi32(0xffff, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_epi32(0xffff, r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i] = _mm512_maskz_unpacklo_epi64(0xff, t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_maskz_unpackhi_epi64(0xff, t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_maskz_unpacklo_epi64(0xff, t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_maskz_unpackhi_epi64(0xff, t[4 * i + 1], t[4 * i + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    const __m512i v0 = _mm512_maskz_shuffle_i32x4(0xffff, u[k], u[4 + k], 0x88),
                  v1 = _mm512_maskz_shuffle_i32x4(0xffff, u[k], u[4 + k], 0xdd);
    const __m512i w0 = _mm512_maskz_shuffle_i32x4(0xffff, u[8 + k], u[12 + k], 0x88);
    const __m512i w1 = _mm512_maskz_shuffle_i32x4(0xffff, u[8 + k], u[12 + k], 0xdd);
    r[k] = _mm512_maskz_shuffle_i32x4(0xffff, v0, w0, 0x88);
    r[8 + k] = _mm512_maskz_shuffle_i32x4(0xffff, v0, w0, 0xdd);
    r[4 + k] = _mm512_maskz_shuffle_i32x4(0xffff, v1, w1, 0x88);
    r[12 + k] = _mm512_maskz_shuffle_i32x4(0xffff, v1, w1, 0xdd);
  }
}

// The item's output rows = Oᵀ (Dh, rows) transposed, divided by l; lse = m + log l (rows with no key: 0 and
// −inf). 16 columns of 16 rows at a time through transpose16, the last block's columns masked.
BLT_AVX512_LANES inline void store_output(const AttnDims& d, const ItemRows& it, const LaneState& s,
                                          const float* ot, int64_t rows, float* out, float* lse) {
  const int64_t ldq = d.Hq * d.Dh;
  float* O = out + (it.b * d.Tq + it.t0) * ldq + it.h * d.Dh;
  float* L = lse + (it.b * d.Hq + it.h) * d.Tq + it.t0;
  alignas(64) float inv[kRows];
  for (int64_t r = 0; r < rows; ++r) inv[r] = s.l[r] > 0 ? 1.f / s.l[r] : 0.f;
  for (int64_t r0 = 0; r0 < it.nq; r0 += kLanes) {
    const __m512 scale = _mm512_load_ps(inv + r0);
    for (int64_t c0 = 0; c0 < d.Dh; c0 += kLanes) {
      const int64_t nc = std::min<int64_t>(kLanes, d.Dh - c0);
      __m512i w[kLanes];
      for (int64_t c = 0; c < kLanes; ++c)
        w[c] = c < nc ? _mm512_castps_si512(_mm512_mul_ps(_mm512_loadu_ps(ot + (c0 + c) * rows + r0), scale))
                      : _mm512_setzero_si512();
      transpose16(w);  // w[r]: row r0 + r's columns c0..c0+15
      for (int64_t r = 0; r < std::min<int64_t>(kLanes, it.nq - r0); ++r)
        _mm512_mask_storeu_epi32(O + (r0 + r) * ldq + c0, first_lanes(nc), w[r]);
    }
  }
  for (int64_t r = 0; r < it.nq; ++r)
    L[r] = s.l[r] > 0 ? s.m[r] + std::log(s.l[r]) : -std::numeric_limits<float>::infinity();
}

}  // namespace blt::ops::detail
