// What the bf16 attention kernels on VDPBF16PS share (attention_avx512bf16.cpp, the forward;
// attention_avx512bf16_bwd.cpp, the backward): VDPBF16PS adds two bf16 products into each f32 lane, so
// operands come in pairs. Query rows are the lanes of two vectors (kRows); a product over the head dim
// takes the rows' pairs along Dh (Qᵀ pairs × a broadcast pair of K: qk_block), a product over keys the
// rows' pairs along keys (Pᵀ pairs × a broadcast pair of V: pv_block). Chunks start at even keys, so a
// pair never straddles two.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/bf16.h"
#include "ops/attention.h"
#include "ops/attention_bf16.h"
#include "ops/attention_item.h"
#include "ops/attention_lanes.h"

namespace blt::ops::detail {

// The bf16 pair at p in every lane.
BLT_AVX512_BF16 inline __m512i broadcast_pair(const void* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return _mm512_set1_epi32(static_cast<int>(w));
}

// acc + a.lo·b.lo + a.hi·b.hi per lane (a, b bf16 pairs; products exact, sums in f32).
BLT_AVX512_BF16 inline __m512 dp(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

// x (B,Tk,Hkv,Dh) -> per (batch, kv head) (Tk/2 rounded up, Dh) words (x[2i][c], x[2i+1][c]) in bf16,
// key Tk zero: the broadcast operand of a product over keys. pairs_per_head(d) words each.
inline int64_t pairs_per_head(const AttnDims& d) {
  return (d.Tk + 1) / 2 * d.Dh;
}
void pack_key_pairs(const AttnDims& d, const float* x, uint32_t* xp, bool parallel);

// xp (Dh/2, kRows): the item's rows of x (B,Tq,Hq,Dh: q or dO) as pairs (x[r][2i], x[r][2i+1]), lanes
// past nq zero.
BLT_AVX512_BF16 void load_dh_pairs(const AttnDims& d, const float* x, const ItemRows& it, uint32_t* xp);

// st (N, 32) = scale · (the item's 32 lanes' pairs xp (Dh/2, 32)) · (N keys' bf16 rows, ldk apart, from
// key index j0), masked to each lane's [lo, hi) when `mask`; mx (32) = max(mx, scores).
template <int N>
BLT_AVX512_BF16 void qk_block(const uint32_t* xp, int64_t Dh, const bf16* K, int64_t ldk, int32_t j0,
                              const Lanes& ln, bool mask, float scale, float* st, float* mx) {
  __m512 a0[N], a1[N];
  for (int n = 0; n < N; ++n) a0[n] = a1[n] = _mm512_setzero_ps();
  for (int64_t i = 0; i < Dh / 2; ++i) {
    const __m512i x0 = _mm512_loadu_si512(xp + i * kRows), x1 = _mm512_loadu_si512(xp + i * kRows + kLanes);
#pragma GCC unroll 12
    for (int n = 0; n < N; ++n) {
      const __m512i kb = broadcast_pair(K + n * ldk + 2 * i);
      a0[n] = dp(a0[n], x0, kb);
      a1[n] = dp(a1[n], x1, kb);
    }
  }
  store_scores<N>(a0, a1, scale, ln, j0, mask, st, mx);
}

// ot (N, 32) = alpha ∘ ot + Σ_i pp[i] · (V[2i][0..N), V[2i+1][0..N)) over n_pairs key pairs (vp rows Dh
// words apart), per lane.
template <int N>
BLT_AVX512_BF16 void pv_block(const uint32_t* pp, int64_t n_pairs, const uint32_t* vp, int64_t Dh,
                              const float* alpha, float* ot) {
  __m512 a0[N], a1[N];
  load_rescaled<N>(ot, alpha, a0, a1);
  for (int64_t i = 0; i < n_pairs; ++i) {
    const __m512i p0 = _mm512_loadu_si512(pp + i * kRows), p1 = _mm512_loadu_si512(pp + i * kRows + kLanes);
#pragma GCC unroll 12
    for (int n = 0; n < N; ++n) {
      const __m512i vb = _mm512_set1_epi32(static_cast<int>(vp[i * Dh + n]));
      a0[n] = dp(a0[n], p0, vb);
      a1[n] = dp(a1[n], p1, vb);
    }
  }
  store_rows<N>(a0, a1, ot);
}

using QkFn = void (*)(const uint32_t*, int64_t, const bf16*, int64_t, int32_t, const Lanes&, bool, float,
                      float*, float*);
using PvFn = void (*)(const uint32_t*, int64_t, const uint32_t*, int64_t, const float*, float*);

inline constexpr auto kQkPairs = block_table<QkFn>([](auto n) { return &qk_block<n()>; });
inline constexpr auto kPvPairs = block_table<PvFn>([](auto n) { return &pv_block<n()>; });

}  // namespace blt::ops::detail
